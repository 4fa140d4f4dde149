"""The grammar of what `/api/v1` takes in its paths, queries and bodies, declared once, so
that `/openapi.json` states what the server enforces: model names, aliases and endpoint
names by the very patterns the registry and the endpoints check (`conveyor.registry.names`,
`conveyor.serving.endpoints`), monitor names and durations as the monitors check them
(`conveyor.monitoring.specs`), version ids and counts within the store's 64 bits.

A value breaking its pattern answers 400 naming the parameter and the rule (`RULES`,
read by `conveyor.api.errors`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field

from conveyor.automation.references import LATEST, PIPELINE_NAME
from conveyor.monitoring.specs import DURATION_PATTERN, MONITOR_NAME, SETTING
from conveyor.registry.names import ALIAS, MODEL_NAME
from conveyor.serving.endpoints import ENDPOINT_NAME
from conveyor.store.metadata.experiment_contexts import NAME as EXPERIMENT_NAME
from conveyor.store.metadata.kinds import MAX_ID

_ID = "[0-9]{1,18}"  # every id below 10^18 < 2^63

MODEL = f"^{MODEL_NAME.pattern}$"
ALIAS_NAME = f"^{ALIAS.pattern}$"
VERSION = f"^(?:{_ID}|{ALIAS.pattern})$"
ENDPOINT = f"^{ENDPOINT_NAME.pattern}$"
REFERENCE = f"^{MODEL_NAME.pattern}(?:@(?:{_ID}|{ALIAS.pattern}))?$"
DEPLOYED_ID = f"^{_ID}$"
MONITOR = f"^(?:{MONITOR_NAME.pattern})$"  # a model name's rule, told apart in RULES
DURATION = DURATION_PATTERN
SETTING_NAME = f"^{SETTING.pattern}$"
PIPELINE = f"^(?:(?:{PIPELINE_NAME.pattern}))$"  # a model name's rule, told apart in RULES
PIPELINE_REF = f"^(?:{_ID}|{PIPELINE_NAME.pattern})$"
PIPELINE_REFERENCE = f"^{PIPELINE_NAME.pattern}(?:@(?:{_ID}|{PIPELINE_NAME.pattern}))?$"
SCHEDULE = f"^(?:(?:(?:{MODEL_NAME.pattern})))$"  # a model name's rule, told apart in RULES
TRIGGER = f"^(?:(?:(?:(?:{MODEL_NAME.pattern}))))$"  # a model name's rule, told apart in RULES
EXPERIMENT = f"^{EXPERIMENT_NAME.pattern}$"
"""An experiment's name, as `conveyor.store.metadata.experiment_contexts.check_name` checks it."""
RUN = f"^(?:{EXPERIMENT_NAME.pattern})$"  # the same rule, told apart in RULES
RUN_ID = "^[^/\\x00]{1,255}$"
"""A pipeline run's id: what the store names it by (any text without `/` or NUL)."""
NO_NUL = "^[^\\x00]*$"
"""Free text: anything but NUL, which PostgreSQL does not store."""

RULES = {
    MODEL: "a model name: a letter, then letters, digits, '-' and '_', up to 128 "
    "characters (churn-classifier)",
    ALIAS_NAME: "an alias: 2 to 128 letters, digits and '-', starting with a lowercase "
    "letter and ending with a lowercase letter or digit (production)",
    VERSION: "a version: an id below 10^18 (3) or an alias (production)",
    ENDPOINT: "an endpoint name: 1 to 63 lowercase letters, digits and '-', starting "
    "with a letter and not ending with '-' (churn-prod)",
    REFERENCE: "a model reference: churn, churn@3 or churn@production",
    DEPLOYED_ID: "a deployed model id: digits, below 10^18 (1)",
    MONITOR: "a monitor name: a letter, then letters, digits, '-' and '_', up to 128 "
    "characters (churn-drift)",
    DURATION: "a duration: a whole number and a unit, s, m, h, d or w (30m, 1h, 1d, 1w)",
    SETTING_NAME: "the name of an environment variable: letters, digits and '_' "
    "(CONVEYOR_WEBHOOK_SECRET)",
    PIPELINE: "a pipeline name or tag: a letter, then letters, digits, '-' and '_', up to "
    "128 characters (churn-training, prod)",
    PIPELINE_REF: f"a pipeline version: a number below 10^18 (3), a tag (prod) or {LATEST}",
    PIPELINE_REFERENCE: "a registered pipeline: NAME, NAME@VERSION, NAME@TAG or "
    f"NAME@{LATEST} (churn-training@prod)",
    SCHEDULE: "a schedule name: a letter, then letters, digits, '-' and '_', up to 128 "
    "characters (nightly-train)",
    TRIGGER: "a trigger name: a letter, then letters, digits, '-' and '_', up to 128 "
    "characters (new-spans)",
    EXPERIMENT: "an experiment name: 1 to 128 letters, digits, '.', '_' or '-', starting "
    "with a letter or digit (churn)",
    RUN_ID: "a run id: 1 to 255 characters, no '/' (train-20261207-093000-0a1b2c)",
    RUN: "a run name: 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or "
    "digit (depth-4)",
    NO_NUL: "text without NUL characters",
}
"""What each pattern means, for the message of a value that breaks it."""

ModelPath = Annotated[str, Path(pattern=MODEL, description=RULES[MODEL], examples=["churn"])]
AliasPath = Annotated[
    str, Path(pattern=ALIAS_NAME, description=RULES[ALIAS_NAME], examples=["production"])
]
VersionPath = Annotated[str, Path(pattern=VERSION, description=RULES[VERSION], examples=["3"])]
EndpointPath = Annotated[
    str, Path(pattern=ENDPOINT, description=RULES[ENDPOINT], examples=["churn-prod"])
]
MonitorPath = Annotated[
    str, Path(pattern=MONITOR, description=RULES[MONITOR], examples=["churn-drift"])
]

ModelName = Annotated[str, Field(pattern=MODEL, examples=["churn"])]
AliasName = Annotated[str, Field(pattern=ALIAS_NAME, examples=["candidate"])]
VersionName = Annotated[str, Field(pattern=VERSION, examples=["staging"])]
EndpointName = Annotated[
    str, Field(pattern=ENDPOINT, description=RULES[ENDPOINT], examples=["churn-prod"])
]
Reference = Annotated[str, Field(pattern=REFERENCE)]
MonitorName = Annotated[
    str, Field(pattern=MONITOR, description=RULES[MONITOR], examples=["churn-drift"])
]
Duration = Annotated[str, Field(pattern=DURATION, description=RULES[DURATION], examples=["1d"])]
SettingName = Annotated[
    str,
    Field(
        pattern=SETTING_NAME,
        description=RULES[SETTING_NAME],
        examples=["CONVEYOR_WEBHOOK_SECRET"],
    ),
]
DeployedId = Annotated[str, Field(pattern=DEPLOYED_ID, examples=["1"])]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
JobPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A monitoring job's id.")]
Percentage = Annotated[int, Field(ge=0, le=100)]
PipelinePath = Annotated[
    str, Path(pattern=PIPELINE, description=RULES[PIPELINE], examples=["churn-training"])
]
TagPath = Annotated[str, Path(pattern=PIPELINE, description=RULES[PIPELINE], examples=["prod"])]
PipelineRefPath = Annotated[
    str, Path(pattern=PIPELINE_REF, description=RULES[PIPELINE_REF], examples=["3"])
]
PipelineName = Annotated[
    str, Field(pattern=PIPELINE, description=RULES[PIPELINE], examples=["churn-training"])
]
TagName = Annotated[str, Field(pattern=PIPELINE, examples=["prod"])]
PipelineRef = Annotated[
    str, Field(pattern=PIPELINE_REF, description=RULES[PIPELINE_REF], examples=["prod"])
]
PipelineReference = Annotated[
    str,
    Field(
        pattern=PIPELINE_REFERENCE,
        description=RULES[PIPELINE_REFERENCE],
        examples=["churn-training@prod"],
    ),
]
SchedulePath = Annotated[
    str, Path(pattern=SCHEDULE, description=RULES[SCHEDULE], examples=["nightly"])
]
ScheduleName = Annotated[
    str, Field(pattern=SCHEDULE, description=RULES[SCHEDULE], examples=["nightly"])
]
TriggerPath = Annotated[
    str, Path(pattern=TRIGGER, description=RULES[TRIGGER], examples=["new-spans"])
]
TriggerName = Annotated[
    str, Field(pattern=TRIGGER, description=RULES[TRIGGER], examples=["new-spans"])
]
ExperimentPath = Annotated[
    str, Path(pattern=EXPERIMENT, description=RULES[EXPERIMENT], examples=["churn"])
]
ExperimentName = Annotated[
    str, Field(pattern=EXPERIMENT, description=RULES[EXPERIMENT], examples=["churn"])
]
RunPath = Annotated[str, Path(pattern=RUN, description=RULES[RUN], examples=["depth-4"])]
RunName = Annotated[str, Field(pattern=RUN, description=RULES[RUN], examples=["depth-4"])]
