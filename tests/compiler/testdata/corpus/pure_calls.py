# @pure functions run inline: plain Python with any body, taking and returning flow values,
# including dataclasses and DSError; an exception inside one faults the isolate at the call line.
from dataclasses import dataclass

from deepslate import DSError, flow, pure


@dataclass
class Money:
    cents: int
    currency: str


@pure
def parse_money(text: str) -> Money | DSError:
    amount, _, currency = text.partition(" ")
    if not currency:
        return DSError(f"no currency in {text!r}")
    whole, _, frac = amount.partition(".")
    return Money(int(whole) * 100 + int((frac + "00")[:2]), currency.upper())


@pure
def fmt(m: Money) -> str:
    return f"{m.cents // 100}.{m.cents % 100:02d} {m.currency}"


@pure
def words(s: str) -> list[str]:
    return sorted(s.split())


@pure
def explode(n: int) -> int:
    return 100 // n


# run: main(texts=["12.5 eur", "3 usd", "0.07 eur"])
# expect: ['12.50 EUR', '3.00 USD', '0.07 EUR', 'total 1257']
# run: main(texts=["12.5"])
# expect: ["error: no currency in '12.5'"]
@flow
async def main(texts: list[str]) -> list[str]:
    out: list[str] = []
    eur: int = 0
    for t in texts:
        m: Money | DSError = parse_money(t)
        if isinstance(m, DSError):
            out.append("error: " + str(m))
            return out
        out.append(fmt(m))
        if m.currency == "EUR":
            eur = eur + m.cents
    out.append("total " + str(eur))
    return out


# run: sort_words(s="pear apple fig")
# expect: ['apple', 'fig', 'pear']
@flow
async def sort_words(s: str) -> list[str]:
    return words(s)


# run: divide(n=4)
# expect: 25
# run: divide(n=0)
# expect fault: ZeroDivisionError @explode
@flow
async def divide(n: int) -> int:
    r: int = explode(n)  #@explode
    return r
