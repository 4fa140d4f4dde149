"""Automation: what runs pipelines without a person (see docs/automation.md): registered
pipelines with versions and tags, schedules and triggers that fire runs and monitoring
jobs, the scheduler that fires them, and `conveyor ci` for repositories of pipelines."""
