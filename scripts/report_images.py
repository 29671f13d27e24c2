"""Render a run's report as a Chinese-speaking analyst sees it, as PNGs for the README.

    python scripts/report_images.py [--customers 2000] [--out docs/img] [--data-dir DIR]
    python scripts/report_images.py --database-url URL --tenant-id ID --run-id ID

Without --database-url: a fresh database `report_images` on an embedded server in
--data-dir (bench/common.py), the demo data set, the four seed trees, two apply runs
(a month apart, a few customers locked by hand in between, so the second has changes and
conflicts). With --database-url: the given tenant's run (e.g. the 1M bench database).

The report is fetched over the API in-process (XLSX with its summary sheets, and PDF),
then turned into images with Debian's tools — `libreoffice --headless --convert-to pdf`
for the workbook, `pdftoppm` for both PDFs — which this script needs and CI does not
(`apt-get install poppler-utils poppler-data libreoffice-calc fonts-wqy-zenhei`:
poppler-data maps the Adobe-GB1 characters of STSong-Light, and a CJK font lets
LibreOffice and poppler draw them; PDF readers bring their own font for STSong-Light).
"""

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from app.core.db import Database
from app.core.settings import Settings
from app.demo import load_demo
from app.demo.generate import default_as_of
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from app.main import create_app
from app.models import Role
from app.tenants import service as tenant_service
from bench.common import add_data_dir, fresh_database

REPO = Path(__file__).resolve().parents[1]
TREES = ("value", "activity", "risk", "relationship")


async def _admin(database: Database, tenant_id: uuid.UUID | None) -> tuple[uuid.UUID, str]:
    async with database.sessionmaker() as session, session.begin():
        if tenant_id is None:
            tenant = await tenant_service.create_tenant(session, "demo", "演示企业")
            tenant_id = tenant.id
        _, secret = await tenant_service.create_api_key(
            session, tenant_id, name="report images", role=Role.ADMIN, delegating=False,
            created_by="scripts/report_images.py",
        )  # fmt: skip
    return tenant_id, secret


async def _apply(api: httpx.AsyncClient, database: Database, tenant: uuid.UUID, day: str) -> str:
    started = await api.post("/api/v1/runs", json={"as_of": day, "mode": "apply"})
    started.raise_for_status()
    await Worker(database, tenant_id=tenant).run_until_idle()
    run = (await api.get(f"/api/v1/runs/{started.json()['id']}")).json()
    assert run["status"] == "succeeded", run
    return str(run["id"])


async def _demo_run(api: httpx.AsyncClient, database: Database, tenant: uuid.UUID, n: int) -> str:
    as_of = default_as_of("Asia/Shanghai")
    await load_demo(database.engine, tenant, customers=n, seed=3, as_of=as_of)
    for key in TREES:
        (await api.post(f"/api/v1/templates/{key}/install")).raise_for_status()
    await _apply(api, database, tenant, (as_of - timedelta(days=30)).isoformat())
    # A few manual decisions the next run's rules disagree with: locked conflicts.
    trees = (await api.get("/api/v1/category-trees")).json()["items"]
    # The activity tree moves by about 10 points in this month: alert from 5 (drift).
    activity = next(t for t in trees if t["key"] == "activity")
    patched = await api.patch(
        f"/api/v1/category-trees/{activity['id']}", json={"drift_threshold_pp": 5}
    )
    patched.raise_for_status()
    value = next(t for t in trees if t["key"] == "value")
    categories = (await api.get(f"/api/v1/category-trees/{value['id']}/categories")).json()
    high = next(c for c in categories["items"] if c["code"] == "HIGH")
    customers = (await api.get("/api/v1/customers", params={"limit": 8})).json()["items"]
    for customer in customers:
        await api.put(
            f"/api/v1/customers/{customer['id']}/assignments/{value['id']}",
            json={"category_id": high["id"], "locked": True, "reason": "销售总监确认"},
        )
    return await _apply(api, database, tenant, as_of.isoformat())


def _pngs(pdf: Path, out: Path, stem: str, pages: int, width: int) -> list[Path]:
    subprocess.run(
        ["pdftoppm", "-png", "-scale-to-x", str(width), "-scale-to-y", "-1", "-f", "1",
         "-l", str(pages), str(pdf), str(out / stem)],
        check=True,
    )  # fmt: skip
    return sorted(out.glob(f"{stem}*.png"))


async def fetch(args: argparse.Namespace) -> tuple[str, bytes, bytes]:
    """The run's id, its XLSX (summary sheets) and its PDF."""
    server = None
    url = args.database_url
    if url is None:
        url, server = await fresh_database("report_images", args.data_dir)
    database = Database.connect(url)
    load_handlers()
    try:
        tenant_id, secret = await _admin(
            database, uuid.UUID(args.tenant_id) if args.tenant_id else None
        )
        settings = Settings(database_url=url, log_json=False, report_inline_max_rows=10**9)
        app = create_app(settings, database)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://report-images",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=600,
        ) as api:
            run_id = args.run_id or await _demo_run(api, database, tenant_id, args.customers)
            report = f"/api/v1/runs/{run_id}/report"
            workbook = await api.get(report, params={"format": "xlsx", "parts": "summary"})
            document = await api.get(report, params={"format": "pdf"})
            workbook.raise_for_status()
            document.raise_for_status()
    finally:
        await database.dispose()
        if server is not None:
            server.stop()
    return run_id, workbook.content, document.content


def images(out: Path, workbook: bytes, document: bytes) -> list[Path]:
    """PNGs of the PDF's first pages and of the workbook printed by LibreOffice."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("report-*.png"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="crmc-report-images-") as scratch:
        work = Path(scratch)
        (work / "report.xlsx").write_bytes(workbook)
        (work / "report.pdf").write_bytes(document)
        office = shutil.which("libreoffice") or shutil.which("soffice") or "libreoffice"
        subprocess.run(
            [office, "--headless", "--convert-to", "pdf", "--outdir", str(work / "xlsx"),
             str(work / "report.xlsx")],
            check=True, capture_output=True,
        )  # fmt: skip
        made = _pngs(work / "report.pdf", out, "report-pdf", 3, 900)
        made += _pngs(work / "xlsx" / "report.pdf", out, "report-xlsx", 5, 900)
    return made


def main(args: argparse.Namespace) -> None:
    run_id, workbook, document = asyncio.run(fetch(args))
    print(f"run {run_id}:")
    for path in images(args.out, workbook, document):
        print(f"  {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


if __name__ == "__main__":
    parser = add_data_dir(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--database-url")
    parser.add_argument("--tenant-id")
    parser.add_argument("--run-id")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    main(parser.parse_args())
