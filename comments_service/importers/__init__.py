"""Move a blog into Hubbub: WordPress (WXR) and Disqus exports, Isso databases, and Hubbub's own JSON export.

Every import runs in two steps so that bad input never leaves half an import behind:
1. read: the whole file is parsed into an ImportPlan (raises ImportFailed naming the item);
2. apply: comments go into the database in one transaction (skipping those already imported),
   then the Markdown files and author stubs are written, then the publish jobs of threads with
   published comments run, so their thread files exist before the next build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hubbub.core.words import count as n_of

from .files import FileReport, write_files
from .plan import ImportFailed, ImportPlan, skipped_text
from .store import StoreReport, publish_now, store_comments

__all__ = ["ApplyReport", "ImportFailed", "ImportPlan", "apply_plan", "summary"]


@dataclass
class ApplyReport:
    plan: ImportPlan
    files: FileReport
    store: StoreReport
    published: int = 0
    publish_left: int = 0
    needs_build: bool = False


def progress_bar(**options):
    """A tqdm bar without tqdm's monitor thread, which outlives the bar: a build later in the same
    process renders on other cores only from a process running no other thread."""
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    return tqdm(**options)


def apply_plan(hub, site_root: Path, plan: ImportPlan, *, overwrite: bool = False,
               progress: bool | None = None) -> ApplyReport:
    with progress_bar(total=len(plan.comments), unit="comment", desc="Storing comments", leave=False,
              disable=None if progress is None else not progress) as bar:
        stored = store_comments(hub, plan.comments, bar)
    files = write_files(site_root, plan, overwrite=overwrite)
    done, left = publish_now(hub, stored.threads_to_publish)
    # New files, or comments on articles the last build did not have: only a build shows them.
    built = hub.threads.all()
    needs_build = bool(files.written or files.authors_written
                       or any(t not in built for t in stored.threads_to_publish))
    return ApplyReport(plan, files, stored, done, left, needs_build)


def summary(report: ApplyReport, source_file: str) -> list[str]:
    """What happened, for a person: counts, what to look at, and what to do next."""
    plan, files, store = report.plan, report.files, report.store
    lines = [f"Imported from {plan.source} ({source_file}):"]
    for kind, label in (("post", "posts"), ("page", "pages")):
        docs = [d for d in plan.documents if d.kind == kind]
        if not docs and plan.source != "WordPress":
            continue
        paths = {f"content/{d.relpath}" for d in docs}
        written = [p for p in files.written if p in paths]
        unchanged = [p for p in files.unchanged if p in paths]
        kept = [p for p in files.kept if p in paths]
        lines.append(f"  {label + ':':10} {len(docs)} ({len(written)} written, {len(unchanged)} unchanged, "
                     f"{len(kept)} kept as they are)")
    if plan.authors or plan.source == "WordPress":
        lines.append(f"  {'authors:':10} {len(plan.authors)} ({len(files.authors_written)} profile stubs written, "
                     f"{len(files.authors_kept)} existing profiles kept)")
    added = sum(store.added.values())
    by_status = ", ".join(f"{store.added[s]} {s}" for s in ("published", "pending", "spam", "rejected") if store.added[s])
    lines.append(f"  {'comments:':10} {added} new" + (f" ({by_status})" if by_status else "")
                 + f", {store.already} already imported")
    if store.orphans:
        lines.append(f"  {'':10} {n_of(store.orphans, 'reply', 'replies')} whose parent is not in the file "
                     f"{'is' if store.orphans == 1 else 'are'} shown as top-level comments")
    if store.erased:
        lines.append(f"  {'':10} {n_of(store.erased, 'comment')} of people erased before (hubbub privacy erase) left out")
    if plan.skipped:
        lines.append(f"  {'skipped:':10} " + "; ".join(skipped_text(reason, n) for reason, n in sorted(plan.skipped.items())))
    if store.threads_to_publish:
        left = f", {report.publish_left} left to the background jobs" if report.publish_left else ""
        lines.append(f"  {'threads:':10} {n_of(report.published, 'thread file')} written{left}")
    notes = list(plan.notes)
    notes += [f"{p} exists with other content and was kept: edit it by hand, or run again with --overwrite"
              for p in files.kept]
    if notes:
        lines.append("Look at:")
        lines += [f"  - {note}" for note in notes]
    pending = " Pending comments wait in the moderation queue." if store.added["pending"] else ""
    if report.needs_build:
        lines.append("Next: run `hubbub build` so the site shows the imported posts and comments." + pending)
    elif added:
        lines.append("The site's pages already show the published comments." + pending)
    return lines
