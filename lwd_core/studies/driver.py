"""One study, start to end, the same way for the CLI, the app and the tests: the study declares its plan, an
executor runs it, and the study aggregates the results into its report. A study that stopped early (cancelled, or
a training that did not finish) says so, and rerunning it resumes from its run folders."""
from __future__ import annotations

from typing import Any, Iterator

from .common import StudyEvent, StudyResult
from .executors import Local, UnitDone


def run_study(spec: Any, args: Any, executor: Any = None) -> Iterator[Any]:
    """Yields the records of the work as it goes (and the study's own events and live points, spec.progress,
    after each unit); returns the StudyResult."""
    executor = executor or Local()
    args.out.mkdir(parents=True, exist_ok=True)
    plan = spec.plan(args)
    results: dict[str, Any] = {}
    stopped = False
    for item in executor.run(plan, args.cancel):
        if not isinstance(item, UnitDone):
            yield item
        elif item.result is None:
            stopped = True
        else:
            results[item.unit.name] = item.result
            if spec.progress is not None:
                yield from spec.progress(args, plan, results, item.unit)
    if stopped or len(results) < len(plan.units):
        yield StudyEvent(f"{plan.study} stopped; rerun the command to resume", status="cancelled")
        return StudyResult(False)
    return spec.finish(args, plan, results)
