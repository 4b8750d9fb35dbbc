"""A flow `deepslate check` rejects: flows have no exceptions (see the README)."""
from deepslate import flow, impure


@flow
async def pay(cents: int) -> str:
    receipt: str = ""
    result: str = charge(cents)
    try:
        receipt = result
    except ValueError:
        receipt = "declined"
    return receipt


@impure
def charge(cents: int) -> str:
    return f"charged {cents}"
