"""The `tidings` command: migrations and API keys on the embedded SQLite default."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from store.db import Database
from store.tenancy import environment_for_key


async def run_cli(*args: str, data_dir: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    env["TIDINGS_DATA_DIR"] = str(data_dir)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tidings.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_keys_create_prints_a_working_key(tmp_path: Path) -> None:
    code, out, err = await run_cli("keys", "create", "--environment", "Production", data_dir=tmp_path)
    assert code == 0, err
    key = out.strip().splitlines()[-1]
    assert len(key) == 32
    assert (tmp_path / "tidings.db").exists()
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'tidings.db'}")
    try:
        async with db.session() as session:
            env = await environment_for_key(session=session, key=key)
    finally:
        await db.dispose()
    assert env is not None and env.name == "Production"

    code, out, _ = await run_cli("keys", "create", "--environment", "Production", data_dir=tmp_path)
    second = out.strip().splitlines()[-1]
    assert code == 0 and second != key
