// Calls to the control API (/api/v1), with the token the person signed in with.
//
// The token lives in sessionStorage (this tab, until it closes) and goes with every call
// as `Authorization: Bearer`. A 401 asks the shell for the sign-in form (`onSignInNeeded`);
// a 403 is an ApiError whose message says the token's role cannot do this.

const TOKEN_KEY = "conveyor.token";
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const ROLE_MESSAGE = "Your token's role cannot do this.";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Calls `listener()` whenever the API answers 401; returns the unsubscribe. */
export function onSignInNeeded(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Answers `/api/v1{path}` as JSON (or text with `{ text: true }`); `body` goes as JSON. */
export async function api(path, { method = "GET", text = false, body } = {}) {
  const answer = await request(path, {
    method,
    body,
    accept: text ? "text/plain" : "application/json",
  });
  return text ? answer.text() : answer.json();
}

/**
 * The successful answer of `/api/v1{path}` (a Response, its body unread: a stream may
 * be read as it comes), or an ApiError; `signal` aborts it.
 */
export async function request(path, { method = "GET", accept, body, signal } = {}) {
  const headers = { Accept: accept };
  const held = token();
  if (held) headers.Authorization = `Bearer ${held}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const sent = body === undefined ? undefined : JSON.stringify(body);
  const answer = await fetch(`/api/v1${path}`, { method, headers, body: sent, signal });
  if (answer.ok) return answer;
  if (answer.status === 401) listeners.forEach((listener) => listener());
  if (answer.status === 403) throw new ApiError(403, ROLE_MESSAGE);
  throw new ApiError(answer.status, await messageOf(answer));
}

async function messageOf(answer) {
  try {
    const body = await answer.json();
    return body.error?.message ?? `${answer.status} ${answer.statusText}`;
  } catch {
    return `${answer.status} ${answer.statusText}`;
  }
}

/** A query string of `params`, leaving out empty values; arrays repeat the key. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined && item !== null && item !== "") search.append(key, item);
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
