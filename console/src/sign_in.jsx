// The sign-in form: a token of this server, checked against the API, kept for this tab.
import { useState } from "preact/hooks";
import { ApiError, api, signIn, signOut } from "./api.js";

export function SignIn({ onDone }) {
  const [value, setValue] = useState("");
  const [problem, setProblem] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    signIn(value.trim());
    try {
      await api("/runs?page_size=1");
      onDone();
    } catch (error) {
      signOut();
      const refused = error instanceof ApiError && error.status === 401;
      setProblem(refused ? "That token is not valid on this server." : error.message);
    }
  };
  return (
    <section class="page sign-in">
      <h1>Sign in</h1>
      <p>This server needs an API token. Ask whoever runs it for one.</p>
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          value={value}
          onInput={(event) => setValue(event.currentTarget.value)}
          required
        />
        <button type="submit">Sign in</button>
      </form>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </section>
  );
}
