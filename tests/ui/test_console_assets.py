"""The console's routes (`conveyor.ui.console`): the shell for every page, built assets
(the entry and its chunks) read only as regular files inside the assets folder, 503
before the build, and public (no token) where nothing else is; in Chromium, the runs page
loads without the graph pages' chunk (dagre), which a run's page fetches."""

from __future__ import annotations

import os
from contextlib import ExitStack

import pytest
from playwright.sync_api import expect
from starlette.middleware import Middleware
from ui_support import conveyor_server, home_at, needs_browser_and_build, served

from conveyor.api import create_app
from conveyor.errors import UsageError
from conveyor.home import open_home
from conveyor.serving.auth import Role, TokenAuth, Tokens, required_role
from conveyor.ui import console

SCRIPT = b"console.log('console');"
STYLE = b"body { color: black; }"
CHUNK = b"export const shared = 1;"
DAGRE = "longest-path"
"""A string of dagre's own (a ranker's name), which minifying keeps: in its chunk only."""


@pytest.fixture
def built(tmp_path):
    """A console build: index.html and two hashed assets; beside it, a secret."""
    folder = tmp_path / "static"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text('<script src="/ui/assets/app-ABC.js"></script>')
    (folder / "assets" / "app-ABC.js").write_bytes(SCRIPT)
    (folder / "assets" / "app-ABC.css").write_bytes(STYLE)
    (folder / "assets" / "chunk-DEF.js").write_bytes(CHUNK)
    (tmp_path / "secret").write_text("not for you")
    return folder


@pytest.fixture
def client_of():
    """A client of the control API with the console of a folder, tokens optional, served
    for real."""
    with open_home() as home, ExitStack() as running:

        def make(folder, tokens=None):
            middleware = [Middleware(TokenAuth, tokens=Tokens(tokens))] if tokens else []
            app = create_app(home, extra_routers=[console.routes(folder)], middleware=middleware)
            return running.enter_context(served(app))

        yield make


def test_every_page_of_the_console_answers_its_shell(built, client_of):
    client = client_of(built)
    for path in ("/ui", "/ui/", "/ui/runs", "/ui/runs/train-1", "/ui/no/such/page"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        assert answer.headers["cache-control"] == "no-cache"
        assert "script-src" not in answer.headers["content-security-policy"]  # 'self' only
        assert "app-ABC.js" in answer.text
    assert client.head("/ui/runs").status_code == 200
    root = client.get("/")
    assert (root.status_code, root.headers["location"]) == (307, "/ui")


def test_assets_are_served_with_their_type_and_kept_for_long(built, client_of):
    client = client_of(built)
    script = client.get("/ui/assets/app-ABC.js")
    assert script.content == SCRIPT
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert script.headers["x-content-type-options"] == "nosniff"
    chunk = client.get("/ui/assets/chunk-DEF.js")
    assert chunk.content == CHUNK
    assert chunk.headers["content-type"] == "text/javascript; charset=utf-8"
    assert chunk.headers["cache-control"] == "public, max-age=31536000, immutable"
    style = client.get("/ui/assets/app-ABC.css")
    assert (style.content, style.headers["content-type"]) == (STYLE, "text/css; charset=utf-8")
    missing = client.get("/ui/assets/app-OLD.js")
    assert missing.status_code == 404
    assert "no asset 'app-OLD.js'" in missing.json()["error"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/ui/assets/%2e%2e/index.html",  # inside static/, outside assets/
        "/ui/assets/%2e%2e/%2e%2e/secret",
        "/ui/assets/%2e%2e%2f%2e%2e%2fsecret",
        "/ui/assets//etc/passwd",
        "/ui/assets/linked",
        "/ui/assets/folder",
        "/ui/assets/pipe",
        "/ui/assets/",
    ],
)
def test_only_regular_files_inside_the_assets_folder_are_read(built, client_of, path):
    assets = built / "assets"
    (assets / "linked").symlink_to(built.parent / "secret")
    (assets / "folder").mkdir()
    os.mkfifo(assets / "pipe")  # reading it would block: it is never opened
    answer = client_of(built).get(path)
    assert answer.status_code == 404, (path, answer.text)
    assert "not for you" not in answer.text


def test_a_console_not_built_answers_503_saying_how_to_build_it(tmp_path, client_of):
    client = client_of(tmp_path / "static")
    for path in ("/ui", "/ui/runs", "/ui/assets/app-ABC.js"):
        answer = client.get(path)
        assert answer.status_code == 503, path
        assert "run `make env`" in answer.text


def test_the_console_loads_without_a_token_and_its_data_does_not(built, client_of):
    client = client_of(built, tokens={"r-token": (Role.READ, "viewer")})
    assert client.get("/ui/runs").status_code == 200
    assert client.get("/ui/assets/app-ABC.js").content == SCRIPT
    assert client.get("/").status_code == 307
    assert client.get("/api/v1/runs").status_code == 401
    assert client.post("/ui/runs").status_code == 401  # public is for reading only
    assert client.get("/docs").status_code == 401
    signed = client.get("/api/v1/runs", headers={"Authorization": "Bearer r-token"})
    assert signed.status_code == 200


def test_public_is_a_route_s_declaration_never_a_token_s(built):
    [asset, *_] = console.routes(built).routes
    assert required_role(asset, "GET") is Role.PUBLIC
    assert required_role(asset, "HEAD") is Role.PUBLIC
    assert required_role(asset, "POST") is Role.ADMIN
    with pytest.raises(UsageError, match="role 'public' is not one of read, predict"):
        Tokens.parse_env("public:t")
    with pytest.raises(UsageError, match="role 'public' is not one of read"):
        Role.parse("public", "tokens")


def test_the_runs_page_loads_without_dagre_and_a_run_page_fetches_it(tmp_path, page):
    needs_browser_and_build()
    with home_at(tmp_path / "home"):
        pass  # an empty home
    scripts: list[str] = []
    page.on("requestfinished", lambda r: r.resource_type == "script" and scripts.append(r.url))
    with conveyor_server("ui", tmp_path / "home", tmp_path / "ui.log") as url:
        page.goto(f"{url}/ui/runs")
        expect(page.get_by_text("No runs match.")).to_be_visible()
        first = set(scripts)
        assert any("/ui/assets/chunk-" in script for script in first)  # the entry's imports
        assert not [script for script in first if DAGRE in page.request.get(script).text()]
        page.goto(f"{url}/ui/runs/no-such-run")  # the run page shows the API's 404
        expect(page.get_by_role("alert")).to_contain_text("no-such-run")
        graph = [
            script for script in set(scripts) - first if DAGRE in page.request.get(script).text()
        ]
        assert len(graph) == 1 and "/ui/assets/chunk-" in graph[0]
        answer = page.request.get(graph[0])
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
