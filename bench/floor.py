"""The floor: the same write a movement needs at minimum, issued by raw psycopg with no framework.

Each transaction is what the ledger cannot do without: UPDATE the stock item's count (which also takes
its row lock) and INSERT the movement with its balance. N threads, each with its own connection, loop
until a deadline, so the run is bounded in time; transactions committed are counted.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

import psycopg

from bench.cpu import cpu_seconds

UPDATE_ITEM = ("UPDATE inventory_stockitem SET count_on_hand = count_on_hand + %s, updated_at = now() "
               "WHERE id = %s RETURNING count_on_hand, stock_location_id")
# The movement and its figures (inventory.models.MovementFigures) in one statement.
INSERT_MOVEMENT = (
    "WITH m AS (INSERT INTO inventory_stockmovement (stock_item_id, stock_location_id, quantity, action, "
    "movement_date, unit_cost_fixed, resource_type, resource_id, caused_by_order_no, caused_by_resource_id, notes, "
    "created_at) VALUES (%s, %s, %s, %s, now(), false, 'bench', '', '', '', '', now()) RETURNING id, stock_item_id, "
    "quantity) "
    "INSERT INTO inventory_movementfigures (movement_id, stock_item_id, quantity, rank, balance_after, "
    "value_per_unit, total_cost, value_in_stock_after, average_cost_after, running_value, updated_at) "
    "SELECT id, stock_item_id, quantity, 0, %s, 0, 0, 0, 0, 0, now() FROM m"
)


def pick_movement(rng: random.Random) -> tuple[int, str]:
    """The write mix shared with the wrk script: 10% receipts of 18 units, 90% sales of 1-3 units.
    The expected change is zero, so stock and open cost layers stay bounded however long the run."""
    if rng.random() < 0.1:
        return 18, "received"
    return -rng.randint(1, 3), "sold"


@dataclass
class FloorResult:
    movements: int
    transactions: int
    seconds: float
    errors: int
    db_cpu_seconds: float = 0.0  # CPU time of the 16 PostgreSQL backends during the run

    @property
    def rate(self) -> float:
        return self.movements / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_movement(self) -> float:
        return self.db_cpu_seconds * 1000 / self.movements if self.movements else 0.0


def run_floor(url: str, item_ids: list[int], *, clients: int = 16, seconds: float = 10.0,
              per_transaction: int = 1, slices: list[list[int]] | None = None, seed: int = 1) -> FloorResult:
    """Movements per second committed by `clients` threads, each transaction writing `per_transaction`
    movements on items drawn uniformly from `item_ids` (locked in id order, as the services do).

    With `slices`, thread n instead writes one movement on every item of `slices[n]` per transaction:
    the batched shape of the bulk endpoint, where each client counts its own zone."""
    counts = [0] * clients
    errors = [0] * clients
    first_error: list[Exception] = []
    cpu = [0.0] * clients
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        with psycopg.connect(url) as conn:
            backend = conn.info.backend_pid
            start.wait()
            cpu[n] -= cpu_seconds(backend)
            while time.perf_counter() < deadline[0]:
                drawn = slices[n] if slices else [rng.choice(item_ids) for _ in range(per_transaction)]
                batch = sorted(drawn)
                try:
                    with conn.transaction():
                        for item_id in batch:
                            quantity, action = pick_movement(rng)
                            row = conn.execute(UPDATE_ITEM, [quantity, item_id], prepare=True).fetchone()
                            if row is None:
                                raise LookupError(f"stock item {item_id} does not exist")
                            balance, location = row
                            conn.execute(INSERT_MOVEMENT, [item_id, location, quantity, action, balance],
                                         prepare=True)
                    counts[n] += len(batch)
                except (psycopg.Error, LookupError) as exc:
                    errors[n] += 1
                    first_error.append(exc)
            cpu[n] += cpu_seconds(backend)
            conn.rollback()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    total = sum(counts)
    if not total and first_error:
        # A floor that never committed is a broken bench (e.g. the schema gained a NOT NULL column), not a
        # figure: say why instead of reporting 0 movements/s.
        raise RuntimeError(f"the floor committed nothing: {first_error[0]}")
    size = len(slices[0]) if slices else per_transaction
    return FloorResult(movements=total, transactions=total // size, seconds=elapsed, errors=sum(errors),
                       db_cpu_seconds=sum(cpu))
