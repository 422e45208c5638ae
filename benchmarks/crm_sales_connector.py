"""The mocked CRM's sales half on the public CRM Sales Opportunities set: import and paging.

Imports ``../shared/datasets/crm-sales-opportunities`` into a fresh SQLite CRM, then reads
every opportunity in pages of 1,000, at 1x and at synthetic scale-ups (renamed copies of
every deal). Aims: import under 3 s, reading the 8,800 deals well under 1 s, reading time
growing no faster than the data.

    python benchmarks/crm_sales_connector.py [--dataset PATH] [--scales 1,2,5,10]

Exits 2 when the data set is missing (it is not in the repo: no stated licence).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from connectors.crm import MockCRMConnector
from connectors.schemas import ImportDataset, ListOpportunities

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "crm-sales-opportunities"


async def read_all(crm: MockCRMConnector, page_size: int) -> tuple[int, int, float]:
    """Deals read, pages, seconds."""
    started, count, pages = time.perf_counter(), 0, 0
    request = ListOpportunities(page_size=page_size)
    while True:
        page = await crm.list_opportunities(request)
        count, pages = count + len(page.items), pages + 1
        if page.next_cursor is None:
            return count, pages, time.perf_counter() - started
        request = request.model_copy(update={"cursor": page.next_cursor})


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--scales", default="1,2,5,10")
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    if not (args.dataset / "sales_pipeline.csv").is_file():
        print(f"data set not found at {args.dataset} (see ../shared/datasets/README)")
        return 2
    columns = ("scale", "deals", "import s", "scale-up s", "read s", "pages")
    print("  ".join(f"{c:>10}" for c in columns))
    for scale in (int(s) for s in args.scales.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            crm = MockCRMConnector({"database_url": f"sqlite:///{tmp}/crm.db"})
            started = time.perf_counter()
            crm.import_maven_dataset(ImportDataset(path=str(args.dataset)))
            imported = time.perf_counter() - started
            started = time.perf_counter()
            crm.scale_up(scale)
            scaled = time.perf_counter() - started
            await read_all(crm, args.page_size)  # warm the page cache, as a second run would
            deals, pages, seconds = await read_all(crm, args.page_size)
            row = (scale, deals, f"{imported:.2f}", f"{scaled:.2f}", f"{seconds:.2f}", pages)
            print("  ".join(f"{c:>10}" for c in row))
            await crm.aclose()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
