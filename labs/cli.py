"""The ``rlab`` command line: list, run labs, check claims, and the one-command demo.

    rlab list                                   # labs and claims, a line each
    rlab list quickstart F3                     # a lab's config fields, a claim's statement and source
    rlab run quickstart --seeds 5 --set n_iter=300 --set gammas=0.9,0.99
    rlab run solver_scaling --executor dask --address tcp://scheduler:8786
    rlab check                                  # every claim; non-zero exit if one fails
    rlab check F2 F3 --instances 50 --seed 1 --out results/claims_report
    rlab demo --out results                     # quickstart (3 seeds) + all claims -> report

Seeds are integers on the command line; each becomes ``numpy.random.default_rng(seed)``. Each
claim ``C`` checked with ``--seed S`` draws from ``default_rng(SeedSequence([S, crc32(C)]))``, so
a claim's row does not depend on which other claims are checked with it.
"""

from __future__ import annotations

import math
import signal
import sys
import time
import zlib
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = ["app", "main", "check_claims", "write_claims_report"]

app = typer.Typer(
    name="rlab",
    help="rlab: exact MDP solvers with certified bounds, theorems as executable checks, reproducible labs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


def _error(message, code: int):
    """Print ``error: message`` (the message is not read as rich markup) and exit with ``code``."""
    console.print(f"[red]error:[/red] {escape(str(message))}", soft_wrap=True)
    raise typer.Exit(code)


def _version_callback(value: bool):
    if value:
        from importlib import metadata

        try:
            version = metadata.version("rlab")
        except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
            version = "unknown"
        console.print(f"rlab {version}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """rlab: exact MDP solvers with certified bounds, theorems as executable checks, reproducible labs."""


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


# ------------------------------------------------------------------------------------ list


@app.command("list")
def list_command(
    names: Annotated[
        Optional[list[str]],
        typer.Argument(help="Labs, claims or algorithms (e.g. mdp.solve) to show in full.", show_default=False),
    ] = None,
    long: Annotated[bool, typer.Option("--long", "-l", help="Every lab and claim in full.")] = False,
) -> None:
    """List the labs and the claims, one line each; name some (or pass --long) for the details."""
    import labs

    try:
        from theory_checks import list_claims

        claims = list_claims()
    except Exception as exc:  # noqa: BLE001 - a broken claims module should not hide the labs
        claims = None
        claims_error = f"could not load the claims: {type(exc).__name__}: {exc}"
    all_labs = labs.list_labs()
    if names:
        lab_names = {lab.name.lower(): lab for lab in all_labs}
        claim_ids = {c.id.upper(): c for c in claims or []}
        from labs.catalog import algorithm_card

        cards = {n: algorithm_card(n) for n in names if n.lower() not in lab_names and n.upper() not in claim_ids}
        unknown = [n for n, card in cards.items() if card is None]
        if unknown:
            if claims is None:
                console.print(f"[red]{escape(claims_error)}[/red]")
            from labs.catalog import known_subjects
            from mdp._validation import did_you_mean

            known = [lab.name for lab in all_labs] + [c.id for c in claims or []] + known_subjects()
            known += sorted({s.rpartition(".")[2] for s in known_subjects()})  # "solve" for mdp.solve
            hints = "".join(did_you_mean(n, known) for n in unknown)
            _error(
                f"unknown lab, claim or algorithm {', '.join(unknown)}{hints}; "
                f"labs: {', '.join(lab.name for lab in all_labs)}; claims: {', '.join(c.id for c in claims or [])}",
                2,
            )
        for n in names:
            if n.lower() in lab_names:
                _print_lab(lab_names[n.lower()])
            elif n.upper() in claim_ids:
                _print_claim(claim_ids[n.upper()])
            else:
                _print_card(cards[n])
        return
    if long:
        for lab in all_labs:
            _print_lab(lab)
        for claim in claims or []:
            _print_claim(claim)
    else:
        # one line per entry, cut at the terminal's width (a rich Table squeezes no-wrap columns to nothing)
        from rich.text import Text

        def line(text, style=None):
            console.print(Text(text, style=style), no_wrap=True, overflow="ellipsis", crop=True)

        w = max(len(lab.name) for lab in all_labs)
        line("Labs (rlab run LAB; rlab list LAB for its config fields)", "bold")
        for lab in all_labs:
            line(f"  {lab.name:<{w}}  {lab.description}")
        if claims:
            wi, wn = max(len(c.id) for c in claims), min(28, max(len(c.name) for c in claims))
            line("Claims (rlab check [CLAIM ...]; rlab list CLAIM for statement, source and notes)", "bold")
            line(f"  {'id':<{wi}}  {'name':<{wn}}  {'constant':<8}  {'n':>3}  source", "dim")
            for c in claims:
                name = c.name if len(c.name) <= wn else c.name[: wn - 1] + "\u2026"
                line(f"  {c.id:<{wi}}  {name:<{wn}}  {c.constant:<8}  {c.default_instances:>3}  {c.source}")
    if claims is None:
        console.print(f"[red]{escape(claims_error)}[/red]")
        raise typer.Exit(1)


def _print_lab(lab) -> None:
    import dataclasses

    cfg = lab.config_cls()
    t = Table(title=escape(f"lab {lab.name}: {lab.description}"), title_justify="left", show_header=True)
    t.add_column("config field (--set key=value)", style="bold")
    t.add_column("type", style="dim")
    t.add_column("default")
    hints = _type_hints(lab.config_cls)
    for f in dataclasses.fields(cfg):
        t.add_row(f.name, escape(str(hints.get(f.name, f.type))), escape(_fmt_value(getattr(cfg, f.name))))
    console.print(t)


def _type_hints(cls) -> dict:
    import typing

    try:
        return {
            k: getattr(v, "__name__", None) or str(v).replace("typing.", "")
            for k, v in typing.get_type_hints(cls).items()
        }
    except Exception:  # noqa: BLE001 - only for display
        return {}


def _print_claim(claim) -> None:
    console.print(
        f"[bold cyan]{claim.id}[/bold cyan] [bold]{escape(claim.name)}[/bold] "
        f"(constant: {claim.constant}; {claim.default_instances} instance(s) by default)",
        highlight=False,
    )
    for label, text in (
        ("statement", claim.statement),
        ("source", claim.source),
        ("instance", claim.instance),
        ("checks", ", ".join(claim.subjects)),
        ("notes", claim.notes),
    ):
        if text:
            console.print(f"  [dim]{label}:[/dim] {escape(text)}", highlight=False)


def _print_card(card) -> None:
    console.print(f"[bold cyan]{escape(card.name)}[/bold cyan] {escape(card.summary)}", highlight=False)
    rows = (
        ("code", card.source or "-"),
        ("claims", ", ".join(card.claims) or "-"),
        ("labs", ", ".join(card.labs) or "-"),
        ("notebooks", ", ".join(card.notebooks) or "-"),
        ("docs", ", ".join(card.docs) or "-"),
    )
    for label, text in rows:
        console.print(f"  [dim]{label}:[/dim] {escape(text)}", highlight=False)


def _fmt_value(v) -> str:
    if isinstance(v, tuple):
        return ",".join(str(x) for x in v)
    return str(v)


# ------------------------------------------------------------------------------------- run


def _run_lab(
    lab: str,
    *,
    seeds: int,
    out: Path,
    executor: str,
    address: Optional[str],
    assignments,
    workers: Optional[int] = None,
    force: bool = False,
):
    import labs

    try:
        overrides = labs.parse_assignments(assignments)
        from labs.user import resolve_lab

        lab_obj = resolve_lab(lab)  # a registered name, or your own lab: path/to/my_lab.py or a module
        config = labs.make_config(lab_obj, **overrides)
    except (KeyError, ValueError, TypeError) as exc:
        _error(exc.args[0] if exc.args else exc, 2)
    if out.exists() and not out.is_dir():
        _error(f"--out {out} exists and is not a folder", 2)
    from labs.executors import check_executor

    try:  # before the header and the progress display: a bad option fails cleanly and alone
        check_executor(executor, address, workers)
    except ValueError as exc:
        _error(exc.args[0], 2)
    console.print(
        f"[bold]{lab_obj.name}[/bold]: {seeds} seed(s), executor [cyan]{executor}[/cyan]"
        + (f" at {escape(address)}" if address else "")
        + (" (timed: seeds run one at a time)" if getattr(lab_obj, "timed", False) else "")
        + f", config {escape(str(config))}"
    )
    t0 = time.perf_counter()
    from labs.executors import ExecutorUnavailable

    failure = None
    cache_dir = Path(out) / lab_obj.name / "cache"
    with _progress() as bar:
        task = bar.add_task(f"{lab_obj.name}", total=seeds)

        def progress(done, total):
            bar.update(task, completed=done, total=total)

        try:
            result = labs.run_lab(
                lab_obj,
                seeds=seeds,
                out=out,
                executor=executor,
                address=address,
                config=config,
                progress=progress,
                max_workers=workers,
                force=force,
            )
        except labs.LabRunError as exc:
            failure = (exc, 1)
        except (ImportError, ValueError, ExecutorUnavailable, OSError) as exc:
            failure = (exc, 2)
        except (KeyboardInterrupt, SystemExit) as exc:
            if isinstance(exc, SystemExit) and exc.code != _SIGTERM_EXIT:
                raise
            n = len(list(cache_dir.glob("seed*.json"))) if cache_dir.is_dir() else 0
            failure = (
                f"interrupted; {n} seed file(s) cached under {cache_dir}: rerun the same command to resume",
                130 if isinstance(exc, KeyboardInterrupt) else 143,
            )
    if failure is not None:  # after the progress bar is closed, so the message is the last line
        _error(*failure)
    note = f"{len(result.computed)} computed, {len(result.cached)} from cache"
    console.print(
        f"[green]done[/green] in {time.perf_counter() - t0:.1f} s ({note}); {len(result.table)} rows. "
        f"Results in [bold]{result.out_dir}[/bold]:",
        soft_wrap=True,
    )
    for kind, path in result.files.items():
        console.print(f"  {kind:<10} {path}", soft_wrap=True, highlight=False)
    return result


@app.command("run")
def run_command(
    lab: Annotated[
        str,
        typer.Argument(
            help="Lab name (see `rlab list`), or your own lab: path/to/my_lab.py or "
            "a module name (optionally :LAB_NAME)."
        ),
    ],
    seeds: Annotated[int, typer.Option("--seeds", "-n", min=1, help="Number of seeds: 0..N-1.")] = 3,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (results go to OUT/LAB/).")] = Path("results"),
    executor: Annotated[str, typer.Option("--executor", "-e", help="local | serial | dask | slurm")] = "local",
    address: Annotated[Optional[str], typer.Option(help="Dask scheduler address (with --executor dask).")] = None,
    set_: Annotated[
        Optional[list[str]], typer.Option("--set", "-s", help="Config override key=value (repeatable).")
    ] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: min(2, seeds)).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Recompute every seed, ignoring the cache.")] = False,
) -> None:
    """Run a lab over seeds (cached, resumable), writing CSV, PDF/PNG figure and provenance."""
    _run_lab(
        lab, seeds=seeds, out=out, executor=executor, address=address, assignments=set_, workers=workers, force=force
    )


# ----------------------------------------------------------------------------------- check


def _claim_rng(seed: int, claim_id: str):
    import numpy as np

    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(claim_id.encode())]))


def check_claims(ids=None, *, instances: Optional[int] = None, seed: int = 0, on_result=None) -> list[dict]:
    """Check claims (all by default); returns one JSON-able record per claim.

    A claim whose check raises is reported with status ``"ERROR"`` (and counts as failing). Checks
    run with numba and BLAS pinned to one thread: the instances are small, and parallel kernels on
    a busy machine cost far more than they save.
    """
    from labs.executors import limit_threads
    from theory_checks import get_claim, list_claims, run_claims

    claims = [get_claim(i) for i in ids] if ids else list_claims()
    records = []
    for claim in claims:
        t0 = time.perf_counter()
        rec = {
            "id": claim.id,
            "name": claim.name,
            "statement": claim.statement,
            "source": claim.source,
            "constant": claim.constant,
            "tolerance": claim.tolerance,
            "notes": claim.notes,
            "instance": claim.instance,
            "subjects": list(claim.subjects),
        }
        try:
            with limit_threads(1):
                (summary,) = run_claims([claim.id], n_instances=instances, rng=_claim_rng(seed, claim.id))
        except Exception as exc:  # noqa: BLE001 - reported as an error row
            rec.update(
                instances=0,
                worst_tightness=None,
                holds=False,
                status="ERROR",
                error=f"{type(exc).__name__}: {exc}",
                results=[],
            )
        else:
            worst = float(summary.worst_tightness)
            rec.update(
                instances=summary.instances,
                worst_tightness=worst if math.isfinite(worst) else None,
                holds=bool(summary.holds),
                status=summary.status,
                error=None,
                results=[
                    {"observed": r.observed, "bound": r.bound, "tightness": r.tightness, "holds": r.holds}
                    for r in summary.results
                ],
            )
        rec["seconds"] = round(time.perf_counter() - t0, 3)
        records.append(rec)
        if on_result is not None:
            on_result(rec)
    return records


def _md_escape(text: str) -> str:
    return str(text).replace("|", r"\|").replace("\n", " ")


def _md_math(statement: str) -> str:
    """A LaTeX statement as inline math for a Markdown table cell (pipes become \\Vert / \\vert)."""
    s = " ".join(str(statement).split())
    s = s.replace(r"\|", r"\Vert{}").replace("|", r"\vert{}").strip()
    return s if "$" in s else f"${s}$"


def write_claims_report(records: list[dict], path, *, seed: int, instances: Optional[int]) -> dict[str, Path]:
    """Write ``path`` with suffixes ``.json`` and ``.md`` (atomically); returns both paths."""
    from labs.provenance import atomic_write_json, atomic_write_text, code_identity, package_versions

    path = Path(path)
    if path.suffix in (".json", ".md"):
        path = path.with_suffix("")
    n_fail = sum(not r["holds"] for r in records)
    report = {
        "all_hold": n_fail == 0,
        "n_claims": len(records),
        "n_failing": n_fail,
        "seed": seed,
        "instances": instances,
        "claims": records,
        "versions": package_versions(),
        **{k: v for k, v in code_identity().items() if k != "rlab"},  # git_commit, git_dirty
    }
    json_path = atomic_write_json(path.with_name(path.name + ".json"), report)
    lines = [
        "# rlab claims report",
        "",
        f"{len(records) - n_fail} of {len(records)} claims hold "
        f"(seed {seed}, instances {'per claim default' if instances is None else instances}; "
        f"git commit `{report['git_commit'] or 'unknown'}`).",
        "",
        "Tightness is observed/bound for inequalities, error/tolerance for identities and "
        "|estimate - target|/tolerance for estimates: a claim holds iff its worst tightness is at most 1.",
        "",
        "| claim | name | statement | source | checks | instance | constant | instances | worst tightness | status |",
        "| --- | --- | --- | --- | --- | --- | --- | ---: | ---: | --- |",
    ]
    for r in records:
        wt = "-" if r["worst_tightness"] is None else f"{r['worst_tightness']:.3g}"
        status = r["status"] if r["status"] != "FAILS" else "**FAILS**"
        if r.get("error"):
            status = f"**ERROR**: {_md_escape(r['error'])}"
        lines.append(
            f"| {r['id']} | {_md_escape(r['name'])} | {_md_math(r['statement'])} | "
            f"{_md_escape(r['source'])} | {_md_escape(', '.join(r.get('subjects', ())))} | "
            f"{_md_escape(r.get('instance', ''))} | {r['constant']} | {r['instances']} | {wt} | {status} |"
        )
    lines.append("")
    md_path = atomic_write_text(path.with_name(path.name + ".md"), "\n".join(lines))
    return {"json": json_path, "md": md_path}


def _check(ids, *, instances, seed, out) -> bool:
    from theory_checks import get_claim, list_claims

    try:
        claims = [get_claim(i) for i in ids] if ids else list_claims()
    except KeyError as exc:
        _error(exc.args[0], 2)
    if out is not None and Path(out).parent.exists() and not Path(out).parent.is_dir():
        _error(f"--out {out}: {Path(out).parent} is not a folder", 2)
    table = Table(title=f"Claims (seed {seed})", title_justify="left")
    for col, kw in (
        ("claim", {"style": "bold cyan"}),
        ("name", {}),
        ("instances", {"justify": "right"}),
        ("worst tightness", {"justify": "right"}),
        ("status", {}),
        ("seconds", {"justify": "right"}),
    ):
        table.add_column(col, **kw)
    with _progress() as bar:
        task = bar.add_task("checking claims", total=len(claims))

        def on_result(rec):
            bar.update(task, advance=1, description=f"checked {rec['id']}")

        records = check_claims([c.id for c in claims], instances=instances, seed=seed, on_result=on_result)
    for r in records:
        wt = "-" if r["worst_tightness"] is None else f"{r['worst_tightness']:.3g}"
        status = {"holds": "[green]holds[/green]", "FAILS": "[bold red]FAILS[/bold red]"}.get(
            r["status"], f"[bold red]ERROR[/bold red] {r.get('error', '')}"
        )
        table.add_row(r["id"], r["name"], str(r["instances"]), wt, status, f"{r['seconds']:.2f}")
    console.print(table)
    ok = all(r["holds"] for r in records)
    n_fail = sum(not r["holds"] for r in records)
    console.print(
        ("[green]1 claim holds[/green]" if len(records) == 1 else f"[green]all {len(records)} claims hold[/green]")
        if ok
        else f"[bold red]{n_fail} of {len(records)} claims fail[/bold red]"
    )
    if out is not None:
        paths = write_claims_report(records, out, seed=seed, instances=instances)
        console.print(f"report: {paths['md']} and {paths['json']}", soft_wrap=True, highlight=False)
    return ok


@app.command("check")
def check_command(
    claims: Annotated[Optional[list[str]], typer.Argument(help="Claim ids or names (default: all).")] = None,
    instances: Annotated[
        Optional[int],
        typer.Option("--instances", "-n", min=1, help="Random instances per claim (default: each claim's own)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the instance generator.")] = 0,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write a report: OUT.json and OUT.md.")] = None,
) -> None:
    """Check claims on random instances; exits with status 1 if any claim fails."""
    if not _check(claims, instances=instances, seed=seed, out=out):
        raise typer.Exit(1)


# ------------------------------------------------------------------------------------ demo


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("results"),
    seeds: Annotated[int, typer.Option("--seeds", "-n", min=1)] = 3,
    executor: Annotated[str, typer.Option("--executor", "-e", help="local | serial | dask | slurm")] = "serial",
    instances: Annotated[
        Optional[int], typer.Option("--instances", min=1, help="Instances per claim (default: each claim's own).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """The quickstart lab (3 seeds) and every claim, with a report in OUT/claims_report.{md,json}."""
    t0 = time.perf_counter()
    console.rule("[bold]1. quickstart lab")
    _run_lab("quickstart", seeds=seeds, out=out, executor=executor, address=None, assignments=None)
    console.rule("[bold]2. claims")
    ok = _check(None, instances=instances, seed=seed, out=Path(out) / "claims_report")
    console.rule()
    console.print(f"demo finished in {time.perf_counter() - t0:.1f} s; results in [bold]{out}[/bold]", soft_wrap=True)
    if not ok:
        raise typer.Exit(1)


_SIGTERM_EXIT = 143


def _on_sigterm(signum, frame):  # pragma: no cover - exercised by a subprocess test
    # unwind like Ctrl-C (worker processes are stopped, finished seeds stay cached) instead of dying
    # on the spot and leaving the workers of a process pool behind
    sys.exit(_SIGTERM_EXIT)


def main() -> None:
    """Console-script entry point (``rlab``)."""
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
        # SIGINT too: a process started with SIGINT ignored (a background job of a non-interactive
        # shell script) inherits SIG_IGN, and Python then installs no KeyboardInterrupt handler, so
        # `kill -INT` did nothing; interrupting must stop a run wherever it was started
        signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # pragma: no cover - not in the main thread
        pass
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
