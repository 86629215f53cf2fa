"""Accounts kept decoded while active and as checkpoint bytes while idle."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import ItemsView, Iterator, ValuesView

import orjson

from streams.config import DetectorConfig
from streams.stages.profile.account import AccountState


def _compact(data: bytes) -> bytes:
    """A copy of exactly ``len(data)`` bytes: orjson's output keeps a block of some 4 KiB."""
    return bytes(memoryview(data))


class PackedAccount:
    """An idle account as its checkpoint bytes, plus the two fields eviction orders by.

    A tenth of the decoded state's memory; caps and the idle TTL read ``n`` and ``last_ts``
    without decoding anything.
    """

    __slots__ = ("data", "last_ts", "n")

    def __init__(self, state: AccountState) -> None:
        self.data = _compact(state.to_bytes())
        self.n = state.n
        self.last_ts = state.last_ts

    def to_bytes(self) -> bytes:
        return self.data


class AccountStates:
    """Account id -> profile, with only the ``hot_accounts`` most recently used ones decoded.

    The others are ``PackedAccount``: their exact ``to_bytes`` form, decoded again by
    ``get`` on the account's next event.  Encoding round-trips exactly, so which accounts
    happen to be decoded changes memory and time, never a result.  Insertion order is that
    of a plain dict (replacing a state keeps its place), so snapshots list accounts as
    before.  ``items``/``values`` are read-only views of the stored entries, decoded or
    packed: both carry ``n``, ``last_ts`` and ``to_bytes``.
    """

    __slots__ = ("_config", "_entries", "_hot")

    def __init__(self, config: DetectorConfig) -> None:
        self._config = config
        self._entries: dict[str, AccountState | PackedAccount] = {}
        self._hot: OrderedDict[str, None] = OrderedDict()  # decoded ids, least recent first

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __contains__(self, account: object) -> bool:
        return account in self._entries

    def __getitem__(self, account: str) -> AccountState:
        state = self.get(account)
        if state is None:
            raise KeyError(account)
        return state

    def __setitem__(self, account: str, state: AccountState) -> None:
        self._entries[account] = state
        self._touch(account)

    def __delitem__(self, account: str) -> None:
        del self._entries[account]
        self._hot.pop(account, None)

    def get(self, account: str) -> AccountState | None:
        """The decoded state (decoding a packed one), now the most recently used."""
        entry = self._entries.get(account)
        if entry is None or isinstance(entry, AccountState):
            if entry is not None:
                self._hot.move_to_end(account)
            return entry
        state = AccountState.from_bytes(entry.data, self._config)
        self._entries[account] = state
        self._touch(account)
        return state

    def peek(self, account: str) -> AccountState | PackedAccount | None:
        """The stored entry as it is, without decoding or counting as a use."""
        return self._entries.get(account)

    def items(self) -> ItemsView[str, AccountState | PackedAccount]:
        return self._entries.items()

    def values(self) -> ValuesView[AccountState | PackedAccount]:
        return self._entries.values()

    def decoded(self) -> int:
        """How many states are held decoded (at most ``hot_accounts``)."""
        return len(self._hot)

    def retract_signature(self, signature_id: str) -> list[str]:
        """Forget ``signature_id`` as matched; returns the accounts that had matched it.

        A packed account is decoded only when its bytes contain the id's JSON string, and
        stays packed.
        """
        needle = orjson.dumps(signature_id)
        changed: list[str] = []
        for account, entry in self._entries.items():
            if isinstance(entry, AccountState):
                state = entry
            elif needle in entry.data:
                state = AccountState.from_bytes(entry.data, self._config)
            else:
                continue
            if signature_id in state.signature_hits:
                state.signature_hits.remove(signature_id)
                if state is not entry:
                    entry.data = _compact(state.to_bytes())
                changed.append(account)
        return changed

    def _touch(self, account: str) -> None:
        hot = self._hot
        hot[account] = None
        hot.move_to_end(account)
        if len(hot) > self._config.hot_accounts:
            coldest, _ = hot.popitem(last=False)
            state = self._entries[coldest]
            assert isinstance(state, AccountState)
            self._entries[coldest] = PackedAccount(state)
