# @impure calls: a durable point each; -> T | DSError receives the final exception as a DSError;
# retries re-run a flaky function; -> T without DSError fails the isolate when it raises.
from deepslate import DSError, flow, impure

ATTEMPTS: dict[str, int] = {}


@impure
def charge(account: str, cents: int) -> str:
    if cents <= 0:
        raise ValueError(f"bad amount {cents}")
    return f"charged {account} {cents}"


@impure
def checked_charge(account: str, cents: int) -> str | DSError:
    if cents > 1000:
        raise RuntimeError("limit exceeded")
    return f"ok {account} {cents}"


@impure(retries=2, backoff=0.0)
def flaky(key: str, fail_times: int) -> int:
    # every run of the flow makes fail_times + 1 attempts, so count them in cycles
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] % (fail_times + 1) != 0:
        raise ConnectionError("try again")
    return fail_times + 1


@impure
def nothing_back(x: int) -> None:
    ATTEMPTS["nothing"] = x


# run: main(amounts=[100, 2000, 50])
# expect: ['ok a 100', 'declined: limit exceeded', 'ok a 50']
# trace: impure:checked_charge impure:checked_charge impure:checked_charge
@flow
async def main(amounts: list[int]) -> list[str]:
    out: list[str] = []
    for c in amounts:
        r: str | DSError = checked_charge("a", c)
        if isinstance(r, DSError):
            out.append("declined: " + str(r))
        else:
            out.append(r)
    return out


# run: strict(cents=5)
# expect: 'charged b 5'
# run: strict(cents=0)
# expect fault: ValueError @strict
@flow
async def strict(cents: int) -> str:
    s: str = charge("b", cents)  #@strict
    nothing_back(cents)
    return s


# run: retry(key="r1", fail_times=2)
# expect: 3
@flow
async def retry(key: str, fail_times: int) -> int:
    n: int = flaky(key, fail_times)
    return n
