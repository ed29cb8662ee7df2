"""Writes of the uploads app, along its three jobs.

- storing: a raw file kept in the private store becomes a Scan row;
- batches: an upload request keeps what arrived, a task unpacks it into report lines;
- ingest: a task checks each scan and makes its renditions; the sweeper re-queues what got stuck.
"""

from .batches import UploadRefused, batch_receive, batch_unpack, batches_sweep
from .ingest import INGEST_MAX_ATTEMPTS, scan_ingest, scans_sweep
from .storing import scan_store

__all__ = [
    "INGEST_MAX_ATTEMPTS",
    "UploadRefused",
    "batch_receive",
    "batch_unpack",
    "batches_sweep",
    "scan_ingest",
    "scan_store",
    "scans_sweep",
]
