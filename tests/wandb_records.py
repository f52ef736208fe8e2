"""Read a W&B ``run-<id>.wandb`` file back: W&B's LevelDB-style record log of ``wandb.proto`` Records.

wandb >= 0.30 writes it from its Go core and ships no Python reader, so the framing (32 KiB blocks of
chunks with a 7-byte header: crc32c, little-endian length, chunk type) is parsed here and each record is
decoded with wandb's own protobuf schema (``wandb.proto.wandb_internal_pb2.Record``).
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

BLOCK = 32 * 1024
CHUNK_HEADER = 7
FILE_HEADER = b":W&B"
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(path: Path) -> list[Any]:
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    assert data[:4] == FILE_HEADER, f"{path} is not a W&B record file"
    pos, payload, records = 7, b"", []
    while pos + CHUNK_HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < CHUNK_HEADER:  # block trailer: zero padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + CHUNK_HEADER])
        if kind == 0 or pos + CHUNK_HEADER + length > len(data):
            break  # end of the log, or a chunk still being written
        payload += data[pos + CHUNK_HEADER : pos + CHUNK_HEADER + length]
        pos += CHUNK_HEADER + length
        if kind in (FULL, LAST):
            record = pb.Record()
            record.ParseFromString(payload)
            records.append(record)
            payload = b""
    return records


def read_finished_run(path: Path, timeout: float = 60.0) -> list[Any]:
    """The records of a finished run. W&B's core process writes the file asynchronously and may still be
    flushing after ``finish()`` returns, so wait until the final ``exit`` record is on disk."""
    deadline = time.monotonic() + timeout
    while True:
        records = read_records(path)
        if exit_code(records) is not None or time.monotonic() > deadline:
            return records
        time.sleep(0.2)


def history_rows(records: list[Any]) -> list[dict[str, Any]]:
    rows = []
    for record in records:
        if record.WhichOneof("record_type") == "history":
            rows.append(
                {
                    (item.key or "/".join(item.nested_key)): json.loads(item.value_json)
                    for item in record.history.item
                }
            )
    return rows


def config_items(records: list[Any]) -> dict[str, Any]:
    """The run's config: the items sent with wandb.init (in the run record) and later updates."""
    updates = [run_record(records).config]
    updates += [r.config for r in records if r.WhichOneof("record_type") == "config"]
    return {
        item.key or "/".join(item.nested_key): json.loads(item.value_json)
        for u in updates
        for item in u.update
    }


def exit_code(records: list[Any]) -> int | None:
    return next((r.exit.exit_code for r in records if r.WhichOneof("record_type") == "exit"), None)


def find_runs(run_dir: Path) -> list[Path]:
    """The .wandb record files of the W&B runs a ganforge run directory holds."""
    return sorted(Path(run_dir).glob("wandb/*run-*/run-*.wandb"))


def run_record(records: list[Any]) -> Any:
    return next(r.run for r in records if r.WhichOneof("record_type") == "run")
