"""When a prestarted kernel counts as ready for its notebook (``kernels.Prestarted.ready``): it has
answered on the shell channel, and this client hears its IOPub. A status published before the
client's subscription reached the kernel is lost; the kernel's welcome to that subscription says
that nothing more will be, so the request is asked again at once instead of after a timeout."""

from __future__ import annotations

import asyncio
import queue
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from vpclink.kernels import WELCOME, Prestarted


class FakeChannel:
    def __init__(self, before_waiting: Any = None) -> None:
        self.messages: list[dict[str, Any]] = []
        self.timed_out = 0
        self.before_waiting = before_waiting

    async def get_msg(self, timeout: float) -> dict[str, Any]:
        if not self.messages and self.before_waiting:
            self.before_waiting()
        if not self.messages:
            if timeout > 0:
                self.timed_out += 1  # a real channel would have waited ``timeout`` seconds for nothing
            raise queue.Empty
        return self.messages.pop(0)


class FakeKernel:
    """A kernel that the client's IOPub subscription reaches while the client waits for the answer to
    its request number ``subscribed_after`` (0: before the first), welcomed if ``welcomes``."""

    def __init__(self, subscribed_after: int, welcomes: bool = True) -> None:
        self.shell_channel, self.iopub_channel = FakeChannel(), FakeChannel(self._subscription_arrives)
        self.requests: list[str] = []
        self.subscribed_after, self.welcomes = subscribed_after, welcomes
        self.subscribed = subscribed_after == 0
        if self.subscribed and welcomes:  # welcomed long before it was asked anything
            self.iopub_channel.messages.append({"msg_type": WELCOME, "parent_header": {}, "content": {}})

    def _subscription_arrives(self) -> None:
        if not self.subscribed and len(self.requests) >= self.subscribed_after:
            self.subscribed = True
            if self.welcomes:
                self.iopub_channel.messages.append({"msg_type": WELCOME, "parent_header": {}, "content": {}})

    def kernel_info(self) -> str:
        msg_id = f"info-{len(self.requests)}"
        self.requests.append(msg_id)
        self.shell_channel.messages.append({"msg_type": "kernel_info_reply", "parent_header": {"msg_id": msg_id}})
        if self.subscribed:  # published before the subscription: lost
            self.iopub_channel.messages.append(
                {"msg_type": "status", "parent_header": {"msg_id": msg_id}, "content": {"execution_state": "idle"}}
            )
        return msg_id

    def _handle_kernel_info_reply(self, reply: dict[str, Any]) -> None:
        pass

    async def is_alive(self) -> bool:
        return True


def _ready(kernel: FakeKernel) -> None:
    # in a thread of its own: a test file before this one may have left a loop running in this thread
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, Prestarted(km=kernel, kc=kernel).ready(30)).result()  # type: ignore[arg-type]


@pytest.mark.parametrize("welcomes", [True, False])
def test_a_kernel_heard_at_once_is_ready_after_one_request(welcomes: bool) -> None:
    # its welcome, queued since the subscription arrived, is not taken for a subscription just made
    kernel = FakeKernel(subscribed_after=0, welcomes=welcomes)
    _ready(kernel)
    assert kernel.requests == ["info-0"] and kernel.iopub_channel.timed_out == 0


@pytest.mark.parametrize("lost", [1, 2])
def test_a_status_lost_before_the_subscription_is_asked_again_once_the_kernel_welcomes_it(lost: int) -> None:
    kernel = FakeKernel(subscribed_after=lost)
    _ready(kernel)
    # the requests before the subscription went unheard on IOPub; each waited its timeout, except the
    # one the welcome answered
    assert len(kernel.requests) == lost + 1
    assert kernel.iopub_channel.timed_out == lost - 1


def test_a_kernel_that_sends_no_welcome_is_asked_again_after_the_timeout() -> None:
    kernel = FakeKernel(subscribed_after=1, welcomes=False)
    _ready(kernel)
    assert len(kernel.requests) == 2 and kernel.iopub_channel.timed_out == 1
