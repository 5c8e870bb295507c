"""The ``progbill`` command. Thin: each command parses options, calls one library function in
:mod:`progbill.pipeline`, prints its report, and turns its outcome into an exit code.

Exit codes: 0 every input processed; 1 at least one input rejected; 2 nothing done (bad usage,
bad configuration, unusable workspace, lock held); 3 documents were issued but a step after the
commit is pending (PDFs, the ledger, moving inputs, the report), which the next run completes.
No traceback for a user's mistake; ``progbill --debug ...`` shows one for anything unexpected.

Everything printed passes through :func:`~progbill.problems.printable`: a file name or a cell
can never carry a terminal control sequence to the screen.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from progbill import __version__, collector
from progbill.billing.periods import Period
from progbill.problems import ProgbillError, printable


def _period(_ctx: Any, _param: Any, value: str | None) -> Period | None:
    if value is None:
        return None
    try:
        return Period.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def echo(text: str, err: bool = False) -> None:
    """Print a report: never a control sequence from a file name or a cell."""
    click.echo(printable(text, keep_newlines=True), err=err)


def _fail(message: str, code: int = 2) -> NoReturn:
    echo(f"Error: {message}", err=True)
    sys.exit(code)


def _guard(debug: bool, action: Callable[[], int]) -> NoReturn:
    """Run a command; map progbill's own errors and anything unexpected to exit 2. Everything
    that reaches here happened before a run's commit (after it, the run reports what is
    pending itself), so "nothing was done" is true."""
    import sqlite3

    try:
        code = action()
    except ProgbillError as exc:
        if debug:
            raise
        _fail(exc.message, exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted; nothing half-written was kept (run again to finish)", 2)
    except sqlite3.DatabaseError as exc:
        if debug:
            raise
        from progbill.store import store_error

        _fail(store_error(exc, Path("progbill.db")).message, 2)
    except OSError as exc:
        if debug:
            raise
        from progbill.publish import describe

        _fail(f"{describe(exc)}. Nothing was done: the ledger store changes only in complete "
              "runs.", 2)
    except Exception as exc:
        if debug:
            raise
        _fail(f"progbill stopped on an unexpected problem ({type(exc).__name__}: {exc}). "
              "Nothing was lost: the ledger store changes only in complete runs. "
              "Run again with --debug to see the details, and report it.", 2)
    sys.exit(code)


_STAGES = {"read": "Reading workbooks", "render": "Rendering PDFs"}


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A rich progress bar on a terminal; nothing at all otherwise (CI, pipes, --json)."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   transient=True)
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if total < 2:
            return
        if stage not in tasks:
            tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
        bar.update(tasks[stage], completed=done)

    with bar:
        yield update


workspace_option = click.option(
    "--workspace", "-w", "workspace", type=click.Path(file_okay=False, path_type=Path),
    default=".", envvar="PROGBILL_WORKSPACE", show_default="current folder or PROGBILL_WORKSPACE",
    help="The workspace folder (created by `progbill init`).")
config_option = click.option(
    "--config", "config", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Use this settings file instead of the workspace's progbill.toml.")
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the report as JSON on stdout.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="progbill")
@click.option("--debug", is_flag=True, envvar="PROGBILL_DEBUG",
              help="Show a traceback for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """progbill: month-end progress invoicing from your Excel workbooks.

    \b
    Example:
      progbill init billing
      progbill run --period 2026-11 -w billing
    """
    ctx.obj = {"debug": debug}


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--templates", is_flag=True,
              help="Also copy the bundled document templates into DIR/templates to edit, and "
                   "use them (output.template_dir).")
@click.pass_context
def init(ctx: click.Context, directory: Path, templates: bool) -> None:
    """Create a workspace: progbill.toml, the inbox with an example workbook, and the folders.

    Existing files are never overwritten.

    \b
    Example:
      progbill init billing
      progbill init billing --templates
    """
    from progbill.workspace import copy_templates, init_workspace

    def action() -> int:
        created = init_workspace(directory)
        if created:
            click.echo(f"Created workspace {directory}:")
            for path in created:
                click.echo(f"  {path.relative_to(directory) if path != directory else path}")
        else:
            click.echo(f"{directory} is already a workspace; nothing to create.")
        if templates:
            folder, configured = copy_templates(directory)
            click.echo(f"Templates to edit: {folder} (invoice.html, invoice.css, fonts/)")
            if configured:
                click.echo('progbill.toml now uses them: template_dir = "templates"')
            else:
                click.echo('To use them, set template_dir = "templates" under [output] in '
                           "progbill.toml")
        click.echo(f"Edit {directory / 'progbill.toml'} (your company details), drop workbooks "
                   f"into {directory / 'inbox'}, then: progbill run --period YYYY-MM -w "
                   f"{directory}")
        return 0

    _guard(ctx.obj["debug"], action)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--period", "-p", required=True, callback=_period, metavar="YYYY-MM",
              help="The month being billed (required: billing the wrong month by default is "
                   "worse than typing it).")
@workspace_option
@config_option
@click.option("--draft", is_flag=True,
              help="Compute and render drafts into drafts/YYYY-MM/; store nothing.")
@click.option("--no-pdf", is_flag=True,
              help="Issue and store now; render the PDFs with the next run or `progbill ledger`.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="PDF rendering processes (default: the number of CPUs).")
@click.option("--wait", "wait_seconds", type=click.FloatRange(0, 3600), default=60,
              show_default=True, help="Seconds to wait if another run holds the workspace.")
@json_option
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.pass_context
def run(ctx: click.Context, paths: tuple[Path, ...], period: Period, workspace: Path,
        config: Path | None, draft: bool, no_pdf: bool, workers: int | None,
        wait_seconds: float, as_json: bool, quiet: bool) -> None:
    """Bill everything completed since the last invoice: one document per project.

    Reads PATHS (workbooks or folders), or the workspace inbox when none is given; inbox files
    are archived (or moved to failed/ with an explanation). Writes invoices/YYYY-MM/*.pdf,
    ledger.xlsx and runs/RUN_ID.json. Re-running with the same workbooks issues nothing.

    \b
    Example:
      progbill run --period 2026-11 -w billing
      progbill run sample_workbooks/2026-11 --period 2026-11 -w demo
    """
    from progbill.pipeline import RunOptions
    from progbill.pipeline import run as run_pipeline
    from progbill.report import format_quiet, format_run

    def action() -> int:
        interactive = sys.stdout.isatty() and not (as_json or quiet)
        with _progress_bar(interactive) as progress:
            options = RunOptions(period=period, paths=paths, draft=draft, no_pdf=no_pdf,
                                 workers=workers, config_path=config, wait_seconds=wait_seconds,
                                 progress=progress)
            report = run_pipeline(workspace, options)
        if as_json:
            echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        elif not quiet:
            echo(format_run(report))
        else:
            quiet_text = format_quiet(report)
            if quiet_text:
                echo(quiet_text, err=True)
        return report.exit_code

    _guard(ctx.obj["debug"], action)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--workspace", "-w", "workspace", type=click.Path(file_okay=False, path_type=Path),
              default=None, envvar="PROGBILL_WORKSPACE",
              help="Also check against this workspace's ledger and settings.")
@config_option
@click.option("--period", "-p", callback=_period, metavar="YYYY-MM", default=None,
              help="The month the workbooks would be billed for (default: this month).")
@json_option
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], workspace: Path | None,
             config: Path | None, period: Period | None, as_json: bool) -> None:
    """Read and check workbooks and print every problem; bill nothing, store nothing.

    Exits 1 if any workbook has an error.

    \b
    Example:
      progbill validate inbox/
      progbill validate progress.xlsx --json
    """
    from progbill.config import Config, load_config
    from progbill.pipeline import validate as validate_files
    from progbill.report import format_validation
    from progbill.workspace import Workspace

    def action() -> int:
        store_path = None
        if workspace is not None:
            ws = Workspace(workspace).require()
            settings = ws.load_config(config)
            store_path = ws.db_path
        elif config is not None:
            settings = load_config(config)
        elif Workspace(Path(".")).is_initialised():
            settings = Workspace(Path(".")).load_config()
        else:
            settings = Config()
        report = validate_files(list(paths), settings, period, store_path)
        if as_json:
            echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        else:
            echo(format_validation(report))
        return report.exit_code

    _guard(ctx.obj["debug"], action)


@cli.command()
@workspace_option
@config_option
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="PDF rendering processes (default: the number of CPUs).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The date of document states and the AR ageing (default: today).")
@json_option
@click.pass_context
def ledger(ctx: click.Context, workspace: Path, config: Path | None, workers: int | None,
           as_of: datetime | None, as_json: bool) -> None:
    """Rebuild ledger.xlsx, and any missing PDFs, from the ledger store.

    \b
    Example:
      progbill ledger -w billing --as-of 2026-12-31
    """
    from progbill.pipeline import rebuild
    from progbill.report import format_ledger

    def action() -> int:
        report = rebuild(workspace, config, workers, as_of=as_of.date() if as_of else None)
        if as_json:
            echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        else:
            echo(format_ledger(report))
        return report.exit_code

    _guard(ctx.obj["debug"], action)


@cli.command()
@workspace_option
@config_option
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The date of the statements (default: today).")
@json_option
@click.pass_context
def statements(ctx: click.Context, workspace: Path, config: Path | None,
               as_of: datetime | None, as_json: bool) -> None:
    """Write one PDF statement per client with open items, into statements/DATE/.

    \b
    Example:
      progbill statements --as-of 2026-12-31 -w billing
    """
    from datetime import date as date_type

    from progbill.statements import write_statements

    def action() -> int:
        report = write_statements(workspace, as_of.date() if as_of else date_type.today(),
                                  config)
        if as_json:
            echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        else:
            echo(f"Statements as of {report.as_of.isoformat()}: "
                 f"{len(report.written)} written" + "".join(f"\n  {p}" for p in report.written))
        return report.exit_code

    _guard(ctx.obj["debug"], action)


@cli.command()
@click.option("--period", "-p", required=True, callback=_period, metavar="YYYY-MM",
              help="The billing month whose documents (and receipts) are exported.")
@click.option("--to", "to", required=True, metavar="FORMAT",
              help="journal, quickbooks, xero, zoho, tally, datev or sage.")
@click.option("--rate", "rates", multiple=True, metavar="CUR=RATE",
              help="An exchange rate into the books' currency, e.g. --rate USD=0.92 "
                   "(repeat for each currency; also read from inbox/rates.csv).")
@workspace_option
@config_option
@json_option
@click.pass_context
def export(ctx: click.Context, period: Period, to: str, rates: tuple[str, ...],
           workspace: Path, config: Path | None, as_json: bool) -> None:
    """Write the period's documents and receipts for your accounting package, into
    exports/PERIOD/FORMAT/.

    \b
    Example:
      progbill export --period 2026-11 --to datev -w billing
    """
    from progbill.books.export import export as export_period

    def action() -> int:
        report = export_period(workspace, str(period), to, list(rates), config)
        if as_json:
            echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        else:
            echo(f"Exported {report.documents} document{'s' if report.documents != 1 else ''}"
                 f" and {report.payments} receipt{'s' if report.payments != 1 else ''} of "
                 f"{report.period} for {report.format} (debits {report.debits}) into "
                 f"{report.folder}/:" + "".join(f"\n  {name}" for name in report.files))
        return report.exit_code

    _guard(ctx.obj["debug"], action)


@cli.command("check-einvoice")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rules-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The official schematron releases (default: einvoice.rules_dir of the "
                   "workspace's progbill.toml).")
@click.option("--rules", "rule_sets", default="auto", metavar="auto|SET[,SET...]",
              help="Rule sets to run: auto (EN 16931 for the syntax, the CIUS its "
                   "specification identifier names, Factur-X for a PDF), or a list of "
                   "en16931-ubl, facturx-cii, en16931-cii, peppol-ubl, peppol-cii, xrechnung-ubl, "
                   "xrechnung-cii.")
@workspace_option
@config_option
@json_option
@click.pass_context
def check_einvoice(ctx: click.Context, paths: tuple[Path, ...], rules_dir: Path | None,
                   rule_sets: str, workspace: Path, config: Path | None, as_json: bool) -> None:
    """Validate Factur-X PDFs, CII or UBL e-invoices offline; exit 1 when any file fails.

    \b
    Example:
      progbill check-einvoice invoices/2026-11/*.xml invoices/2026-11/*.pdf
    """
    from progbill.einvoice.documents import check_einvoices, describe

    def action() -> int:
        results = check_einvoices(list(paths), rules_dir, rule_sets, workspace, config)
        if as_json:
            echo(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False))
        else:
            echo(describe(results))
        return 0 if all(r.ok for r in results) else 1

    _guard(ctx.obj["debug"], action)


@cli.command()
@click.argument("number")
@workspace_option
@config_option
@json_option
@click.option("--html", "as_html", is_flag=True,
              help="Print the document's exact HTML instead, its stylesheet inlined (for "
                   "template authors); -o writes it to a file.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --html: write the HTML to this file.")
@click.pass_context
def show(ctx: click.Context, number: str, workspace: Path, config: Path | None, as_json: bool,
         as_html: bool, output: Path | None) -> None:
    """Show one document: its lines, taxes, the workbook it came from and the hashes that
    trace it (SHA-256 of the source workbook and of the PDF, checked against the disk).

    \b
    Example:
      progbill show INV-2026-00007 -w billing
      progbill show INV-2026-00007 --html -o invoice.html
    """
    from progbill.pipeline import document_html
    from progbill.pipeline import show as show_document
    from progbill.report import format_document

    def action() -> int:
        if as_html:
            html = document_html(workspace, number, config)
            if output is not None:
                from progbill.workspace import atomic_write_text

                atomic_write_text(output, html)
                echo(f"wrote {output}")
            else:
                echo(html)
            return 0
        detail = show_document(workspace, number)
        if as_json:
            payload = {
                "document": detail.document,
                "lines": detail.lines.to_dict(orient="records"),
                "taxes": detail.taxes.to_dict(orient="records"),
                "inputs": detail.inputs.to_dict(orient="records"),
                "pdf_matches": detail.pdf_matches,
            }
            echo(json.dumps(payload, indent=2, default=str, ensure_ascii=False))
        else:
            echo(format_document(detail))
        return 0

    _guard(ctx.obj["debug"], action)


@cli.command()
@workspace_option
@click.pass_context
def repair(ctx: click.Context, workspace: Path) -> None:
    """Find documents whose totals overflowed (possible before progbill checked totals) and
    void them, so that the ledger builds again and their lines are billed again correctly.

    \b
    Example:
      progbill repair -w billing
    """
    from progbill.pipeline import repair as repair_store
    from progbill.report import format_repair

    def action() -> int:
        echo(format_repair(repair_store(workspace)))
        return 0

    _guard(ctx.obj["debug"], action)


@cli.command()
@click.argument("copy", required=False)
@workspace_option
@click.pass_context
def restore(ctx: click.Context, copy: str | None, workspace: Path) -> None:
    """Put back a copy of the ledger store (progbill.db) from backups/.

    Without COPY, lists the copies (one is made after every run), newest first. With COPY, the
    current progbill.db is moved to backups/ (never deleted) and the copy takes its place.

    \b
    Example:
      progbill restore -w billing
      progbill restore "progbill 2026-11-30 060512.db" -w billing
    """
    from progbill.pipeline import restore as restore_store
    from progbill.report import format_restore

    def action() -> int:
        echo(format_restore(restore_store(workspace, copy)))
        return 0

    _guard(ctx.obj["debug"], action)


@cli.command()
@workspace_option
@config_option
@click.option("--period", "-p", "period_rule", default=None, metavar="RULE",
              help="previous-month, current-month or YYYY-MM (default: watch.period).")
@click.option("--settle", type=click.FloatRange(0, 3600), default=None,
              help="Seconds a dropped file must stay unchanged (default: watch.settle_seconds).")
@click.pass_context
def watch(ctx: click.Context, workspace: Path, config: Path | None, period_rule: str | None,
          settle: float | None) -> None:
    """Watch the inbox and run the month-end whenever workbooks are dropped in.

    Logs every run to runs/watch.log; bad files go to failed/ and the service carries on.
    Stop it with Ctrl-C. See the README for cron, systemd and Windows Task Scheduler.

    \b
    Example:
      progbill watch -w billing --period previous-month
    """
    from progbill.watch import serve

    def action() -> int:
        if period_rule is not None and period_rule not in ("previous-month", "current-month"):
            try:
                Period.parse(period_rule)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--period") from exc
        serve(workspace, period_rule, settle, config, log=echo)
        return 0

    _guard(ctx.obj["debug"], action)


def main() -> None:
    collector.for_the_process()
    cli(prog_name="progbill", auto_envvar_prefix=None)


if __name__ == "__main__":  # pragma: no cover
    main()

__all__ = ["cli", "main"]
