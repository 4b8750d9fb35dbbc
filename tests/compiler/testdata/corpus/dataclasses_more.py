# Dataclasses with float, bool, list and dict fields; in lists and dicts; equality; passed to and
# returned from flows.
# run: main()
# expect: [Item(name='tea', price=2.5, taxed=True, tags=['hot']), Item(name='cake', price=4.0, taxed=False, tags=[])]
# run: totals()
# expect: {'tea': 2.75, 'cake': 4.0}
# run: equality()
# expect: [True, False, True]
from dataclasses import dataclass

from deepslate import flow


@dataclass
class Item:
    name: str
    price: float
    taxed: bool
    tags: list[str]


@dataclass
class Cart:
    items: list[Item]
    notes: dict[str, str]


@flow
async def make(name: str, price: float, taxed: bool) -> Item:
    return Item(name, price, taxed, [])


@flow
async def main() -> list[Item]:
    tea: Item = make("tea", 2.5, True)
    tea.tags.append("hot")
    cart: Cart = Cart([tea], {})
    cart.items.append(make("cake", 4.0, False))
    cart.notes["tea"] = "green"
    return cart.items


@flow
async def totals() -> dict[str, float]:
    items: list[Item] = main()
    out: dict[str, float] = {}
    for it in items:
        p: float = it.price
        if it.taxed:
            p = p * 1.1
        out[it.name] = p
    return out


@flow
async def equality() -> list[bool]:
    a: Item = Item("x", 1.0, False, [])
    b: Item = Item("x", 1.0, False, [])
    c: Item = Item("x", 1.0, True, [])
    return [a == b, a == c, a != c]
