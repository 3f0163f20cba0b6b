"""Publishing: approved comments → thread files, article pages, counts and feeds, in place.

The public API the service calls (files only; no database, no Pelican run):

    publish_thread(site_root, output_dir, slug, comments) -> PublishResult
    publish_threads(site_root, output_dir, {slug: comments, ...}) -> PublishResult
    republish_threads(site_root, output_dir, slugs) -> PublishResult
    stale_threads(site_root, output_dir) -> list[str]
    run_deploy(command, site_root, output_dir, timeout=300) -> str

`comments` is the thread's full list of published comments (thread-file format); [] unpublishes
all. The build side (plugins/comments.py) uses the same modules, so both write the same bytes.
"""

from .deploy import DeployError, run_deploy
from .fast_publish import (
    PublishError,
    PublishResult,
    comments_dir_for,
    publish_thread,
    publish_threads,
    republish_threads,
    stale_threads,
)
from .manifest import ManifestError, load_manifest, manifest_path
from .threadfile import ThreadFileError, read_thread, write_thread

__all__ = [
    "DeployError",
    "ManifestError",
    "PublishError",
    "PublishResult",
    "ThreadFileError",
    "comments_dir_for",
    "load_manifest",
    "manifest_path",
    "publish_thread",
    "publish_threads",
    "read_thread",
    "republish_threads",
    "run_deploy",
    "stale_threads",
    "write_thread",
]
