"""The console's lineage page in Chromium, over a real `conveyor serve`: a demo-like
pipeline (ingest, prepare, train, evaluate) whose output's lineage opens from the task
inspector, drawn left to right with the upstream executions and artifacts; a node chosen
shows its details and recenters the graph on itself; the depth lives in the address, and
"Deeper" walks further; a model version links to its artifact's lineage. No `from
__future__ import annotations` here: kfp reads the components' annotations as types."""

import re
from dataclasses import dataclass

import pytest
from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output
from playwright.sync_api import Page, expect
from ui_support import conveyor_server, home_at, needs_browser_and_build

from conveyor.client import Client


@dsl.component
def ingest(rows: int, raw: Output[Dataset]):
    with open(raw.path, "w") as f:
        f.write("\n".join(str(n) for n in range(rows)))


@dsl.component
def prepare(raw: Input[Dataset], data: Output[Dataset]):
    with open(raw.path) as f, open(data.path, "w") as out:
        out.write(f.read())


@dsl.component
def train(data: Input[Dataset], model: Output[Model]):
    import os

    os.makedirs(model.path)
    with open(os.path.join(model.path, "model.joblib"), "w") as out:
        out.write("a model, as far as the registry looks")


@dsl.component
def evaluate(model: Input[Model], data: Input[Dataset], metrics: Output[Metrics]):
    metrics.log_metric("accuracy", 0.9)


@dsl.pipeline(name="lineage-demo")
def demo(rows: int = 5):
    data = prepare(raw=ingest(rows=rows).outputs["raw"]).outputs["data"]
    model = train(data=data).outputs["model"]
    evaluate(model=model, data=data)


@dataclass(frozen=True)
class Served:
    url: str
    run_id: str
    tasks: dict[str, int]
    """Execution ids by task."""
    artifacts: dict[str, int]
    """Artifact ids by output name."""


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    needs_browser_and_build()
    root = tmp_path_factory.mktemp("lineage")
    folder = root / "home"
    with home_at(folder) as home:
        run = Client(home).run(demo, {"rows": 5})
        executions = home.store.get_run(run.run_id).executions
        tasks = {e.task_key: e.id for e in executions}
        outputs = {n: a[0] for e in executions for n, a in e.outputs.items()}
        home.registry.upload("churn", outputs["model"].uri, framework="sklearn")
    artifacts = {name: artifact.id for name, artifact in outputs.items()}
    with conveyor_server("serve", folder, root / "serve.log") as url:
        yield Served(url, run.run_id, tasks, artifacts)


def node(page: Page, kind: str, node_id: int):
    return page.locator(f'[data-node="{kind}-{node_id}"]')


def shown(page: Page) -> set[str]:
    """The names on the graph's nodes."""
    page.locator(".lineage-node").first.wait_for()
    return set(page.locator(".lineage-node .name").all_inner_texts())


def test_lineage_opens_from_the_inspector_and_recenters_on_a_node(served, page):
    page.goto(f"{served.url}/ui/runs/{served.run_id}")
    page.locator('[data-task="evaluate"]').click()
    inspector = page.get_by_role("complementary", name="Task inspector")
    inspector.get_by_role("link", name="Lineage of artifact metrics").click()
    metrics = served.artifacts["metrics"]
    expect(page).to_have_url(f"{served.url}/ui/lineage/artifacts/{metrics}")
    expect(page.get_by_role("heading", name=f"Lineage of artifact {metrics}")).to_be_visible()
    expect(page.locator(".lineage-node")).to_have_count(8)
    assert shown(page) == {"ingest", "raw", "prepare", "data", "train", "model", "evaluate"} | {
        "metrics"
    }
    expect(page.locator(".lineage-truncated")).to_have_count(0)
    start = node(page, "artifact", metrics)
    expect(start).to_have_class(re.compile(r"\blineage-artifact\b.*\bstart\b"))
    expect(start).to_have_attribute("aria-pressed", "true")
    trained = node(page, "execution", served.tasks["train"])
    expect(trained).to_have_class(re.compile(r"\blineage-execution\b.*\bstate-COMPLETE\b"))
    # Left to right as the data flowed: ingest, then train, then what evaluate wrote.
    xs = [
        node(page, "execution", served.tasks["ingest"]).bounding_box()["x"],
        trained.bounding_box()["x"],
        start.bounding_box()["x"],
    ]
    assert xs == sorted(xs) and len(set(xs)) == 3, xs
    details = page.get_by_role("complementary", name=f"Details of artifact {metrics}")
    expect(details.locator("table.values")).to_contain_text("accuracy")
    expect(details.get_by_role("link", name=served.run_id)).to_be_visible()

    trained.click()
    details = page.get_by_role(
        "complementary", name=f"Details of execution {served.tasks['train']}"
    )
    expect(details.get_by_role("heading", name="train")).to_be_visible()
    expect(details.locator(".neighbours").first).to_contain_text("data")  # what it read
    details.get_by_role("link", name="Lineage from here").click()
    expect(page).to_have_url(f"{served.url}/ui/lineage/executions/{served.tasks['train']}?depth=3")
    expect(node(page, "execution", served.tasks["train"])).to_have_class(re.compile(r"\bstart\b"))
    assert shown(page) == {"ingest", "raw", "prepare", "data", "train", "model", "evaluate"} | {
        "metrics"
    }

    page.get_by_role("link", name="The task in its run").click()
    expect(page).to_have_url(f"{served.url}/ui/runs/{served.run_id}?task=train")
    inspector = page.get_by_role("complementary", name="Task inspector")
    expect(inspector.get_by_role("heading", name="train")).to_be_visible()
    inspector.get_by_role("link", name="Lineage of this task").click()
    expect(page).to_have_url(f"{served.url}/ui/lineage/executions/{served.tasks['train']}")


def test_the_depth_is_in_the_address_and_deeper_walks_further(served, page):
    metrics = served.artifacts["metrics"]
    page.goto(f"{served.url}/ui/lineage/artifacts/{metrics}?depth=1")
    expect(page.locator(".lineage-node")).to_have_count(4)
    assert shown(page) == {"metrics", "evaluate", "model", "data"}
    note = page.locator(".lineage-truncated")
    expect(note).to_contain_text("goes on beyond 1 execution each way")
    note.get_by_role("link", name="Deeper").click()
    expect(page).to_have_url(f"{served.url}/ui/lineage/artifacts/{metrics}?depth=2")
    expect(node(page, "execution", served.tasks["train"])).to_be_visible()
    expect(node(page, "execution", served.tasks["prepare"])).to_be_visible()
    expect(node(page, "execution", served.tasks["ingest"])).to_have_count(0)
    expect(page.locator(".lineage-truncated")).to_contain_text("beyond 2 executions")


def test_a_model_version_links_to_its_artifacts_lineage(served, page):
    page.goto(f"{served.url}/ui/models/churn?version=1")
    page.get_by_role("link", name="Lineage of churn@1").click()
    model = served.artifacts["model"]
    expect(page).to_have_url(f"{served.url}/ui/lineage/artifacts/{model}")
    expect(node(page, "artifact", model)).to_have_class(re.compile(r"\bstart\b"))
    expect(node(page, "execution", served.tasks["evaluate"])).to_be_visible()  # downstream


def test_an_unknown_artifact_is_named(served, page):
    page.goto(f"{served.url}/ui/lineage/artifacts/424242")
    expect(page.get_by_role("alert")).to_have_text("no artifact 424242 in the metadata store")
