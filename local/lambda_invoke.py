"""Lambda's Invoke API for the functions the vend function invokes itself (the companion), run here as
Lambda would run them.

boto3 honours `AWS_ENDPOINT_URL_LAMBDA`: the stack points it at `LambdaInvoker.app()`, which serves
`POST /2015-03-31/functions/{name}/invocations` as Lambda does:
- `X-Amz-Invocation-Type: Event` → 202, empty body, at once; the handler runs in the background;
- `RequestResponse` (the default) → 200 with the handler's JSON result, or 200 with
  `X-Amz-Function-Error: Unhandled` and the runtime's error object when it raised or timed out;
- `DryRun` → 204;
- an unknown function (or a qualifier other than `$LATEST`) → 404 `ResourceNotFoundException`, a payload
  that is not JSON → 400 `InvalidRequestContentException`, in Lambda's error shape (the error code in
  `x-amzn-ErrorType`, `{"Type": "User", "Message": …}`).

Each running invocation has an execution environment to itself: a thread, not the API handler's
one-at-a-time lock, so several companions run at once, one per live call, as in Lambda. Its context's
`get_remaining_time_in_millis()` counts down from the function's timeout, or from `deadline_seconds`
(`--companion-deadline-seconds`), so that hand-overs before the deadline can be seen in seconds.

Async retries as Lambda makes them: a handler that raises, or is still running at its deadline, is
tried twice more, after `retry_delays` (Lambda waits about 1 and 2 minutes; here 1 s and 2 s unless
told). The retries keep the invocation's request id, as Lambda's do (the attempt number tells them
apart). Each failure is logged to stderr with its error, never with the payload.

Execution environments are reused as Lambda reuses them: an attempt takes an idle one of its function
if there is one, else it pays `init_seconds` first (`--companion-init-ms`, or `POST /__local/faults`
with `{"init_ms": MS}` or `{"cold": true}`; 0 by default); an environment whose handler returned is
idle again, one that failed is not reused. An async invocation waits `queue_seconds` in Lambda's
internal queue before its first attempt (`POST /__local/faults` with `{"queue_ms": MS}`; 0 by default).

Differences from the service, on purpose: a thread cannot be killed, so a handler still running at its
deadline is counted as timed out (and retried) and left to finish in the background, where Lambda
would have stopped it; there is no concurrency limit, no event age limit and no payload size limit.

`GET /__local/invocations` lists every attempt (function, attempt, state, times, cold; never the
payload), from the moment its invoke is answered, for tests and benches. `stop()` (the stack's
shutdown) drops waiting retries, brings every running handler's deadline to now, and waits a bounded
time for them.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

from local.lambda_adapter import LambdaContext
from local.stack_options import COMPANION_FUNCTION_NAME

logger = logging.getLogger(__name__)

# The functions the vend function invokes through the Lambda API -> their handler modules. The stack
# takes another mapping from StackOptions.async_functions (tests point the companion elsewhere).
ASYNC_FUNCTIONS: Mapping[str, str] = {COMPANION_FUNCTION_NAME: "vend.companion.handler"}
# Lambda's maximum timeout, the companion's (it holds a call's sideband for as long as it may).
DEFAULT_TIMEOUT_SECONDS = 900.0
# Lambda waits about one minute, then two, before the two retries; the same shape in seconds here.
DEFAULT_RETRY_DELAYS = (1.0, 2.0)
INVOKE_PATH = "/2015-03-31/functions/{name}/invocations"
INVOCATIONS_PATH = "/__local/invocations"
FAULTS_PATH = "/__local/faults"
_ACCOUNT = "123456789012"
_REGION = "us-east-1"
_TIMEOUT_ERROR = "Sandbox.Timedout"


class InvocationContext(LambdaContext):
    """The runtime's context for one attempt; `expire()` brings its deadline to now (the stack's stop)."""

    def __init__(self, function_name: str, timeout_seconds: float, request_id: str) -> None:
        super().__init__(function_name, timeout_seconds, region=_REGION, account_id=_ACCOUNT)
        self.aws_request_id = request_id

    def remaining_seconds(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    def expire(self) -> None:
        self._deadline = min(self._deadline, time.monotonic())


@dataclass
class AttemptRecord:
    """One attempt of one invocation, as `GET /__local/invocations` lists it."""

    request_id: str
    function: str
    invocation_type: str  # Event | RequestResponse
    attempt: int  # 1, then 2 and 3 for the retries
    # queued (accepted, not started) | init (paying a new environment's init) | running | succeeded | failed
    state: str = "queued"
    queued: float = field(default_factory=time.time)  # epoch seconds
    started: float | None = None  # when the handler was called
    ended: float | None = None
    error: str | None = None  # the error's type: the exception's class name, Sandbox.Timedout, ...
    # When the next attempt is due (a failed attempt that will be retried), else None (given up, or
    # the stack stopped first).
    next_attempt_at: float | None = None
    cold: bool = False  # it found no idle environment and paid the init first (`init_ms`)


@dataclass
class _Outcome:
    result: Any = None
    error_type: str | None = None
    error_message: str = ""
    stack_trace: list[str] = field(default_factory=list)


class _Attempt:
    """A handler running in its own thread, and what its supervisor waits on."""

    def __init__(self, record: AttemptRecord, context: InvocationContext) -> None:
        self.record = record
        self.context = context
        self.outcome: _Outcome | None = None  # set by the handler's thread when it returns or raises
        self.wake = threading.Event()  # the handler finished, or the deadline was brought forward
        # When Lambda would stop the handler: its deadline, or the end of the stack's stop grace.
        self.stop_at = time.monotonic() + context.remaining_seconds()

    def seconds_left(self) -> float:
        return max(0.0, self.stop_at - time.monotonic())

    def expire(self, grace_seconds: float) -> None:
        """Its deadline now (the handler sees 0 ms left), and `grace_seconds` to wind up."""
        self.context.expire()
        self.stop_at = time.monotonic() + grace_seconds
        self.wake.set()


class UnknownFunction(LookupError):
    """No function of that name (and qualifier) here."""

    def __init__(self, arn: str) -> None:
        super().__init__(arn)
        self.arn = arn


class LambdaInvoker:
    """Runs `functions` (name -> handler module) when invoked through Lambda's Invoke API."""

    def __init__(
        self,
        functions: Mapping[str, str] = ASYNC_FUNCTIONS,
        *,
        timeout_seconds: Mapping[str, float] | None = None,
        deadline_seconds: float | None = None,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        stop_grace_seconds: float = 5.0,
        init_seconds: float = 0.0,
    ) -> None:
        self._functions = dict(functions)
        self._timeouts = dict(timeout_seconds or {})
        self._deadline_seconds = deadline_seconds
        self._retry_delays = retry_delays
        self._stop_grace = stop_grace_seconds
        self._lock = threading.Lock()
        self._records: list[AttemptRecord] = []
        self._running: set[_Attempt] = set()
        self._supervisors: set[threading.Thread] = set()
        self._workers: set[threading.Thread] = set()
        self._stopping = threading.Event()
        # Lambda's init for a new execution environment, and the idle (warm) environments per function.
        self.init_seconds = init_seconds
        self.queue_seconds = 0.0
        self._warm: dict[str, int] = {}

    # -- invoking ------------------------------------------------------------------------------

    def resolve(self, function: str, qualifier: str | None = None) -> str:
        """The function's name from a name, `name:qualifier`, a partial or a full ARN, as Lambda accepts
        them; UnknownFunction if there is none such here."""
        parts = function.split(":")
        if parts[0] == "arn":
            parts = parts[5:]  # arn:aws:lambda:region:account:function:name[:qualifier]
        elif len(parts) >= 3 and parts[1] == "function":
            parts = parts[1:]  # account:function:name[:qualifier]
        if parts and parts[0] == "function":
            parts = parts[1:]
        name = parts[0] if parts else ""
        qualifier = parts[1] if len(parts) > 1 else qualifier
        arn = f"arn:aws:lambda:{_REGION}:{_ACCOUNT}:function:{name}"
        if qualifier:
            arn += f":{qualifier}"
        if name not in self._functions or qualifier not in (None, "", "$LATEST"):
            raise UnknownFunction(arn)
        return name

    def invoke_async(self, name: str, event: Any) -> str:
        """Queues `event` for the function `name` (resolved) and returns the invocation's request id;
        its first attempt is listed (queued) from then on."""
        request_id = str(uuid.uuid4())
        first = AttemptRecord(request_id=request_id, function=name, invocation_type="Event", attempt=1)
        supervisor = threading.Thread(
            target=self._supervise,
            args=(name, event, first),
            name=f"local-lambda-{name}-{request_id[:8]}",
            daemon=True,
        )
        with self._lock:  # with stop()'s: an invocation it does not see is refused
            if self._stopping.is_set():
                raise RuntimeError("the stack is stopping")
            self._records.append(first)
            self._supervisors.add(supervisor)
        supervisor.start()
        return request_id

    def invoke_sync(self, name: str, event: Any) -> tuple[str, _Outcome]:
        """Runs the function `name` on `event` once and waits for it (blocking: call it from a thread)."""
        request_id = str(uuid.uuid4())
        return request_id, self._run_attempt(self._queue(request_id, name, "RequestResponse", 1), event)

    def _queue(self, request_id: str, name: str, kind: str, number: int) -> AttemptRecord:
        record = AttemptRecord(request_id=request_id, function=name, invocation_type=kind, attempt=number)
        with self._lock:
            self._records.append(record)
        return record

    def invocations(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(record) for record in self._records]

    def _supervise(self, name: str, event: Any, first: AttemptRecord) -> None:
        """Lambda's asynchronous invocation: the first attempt, then a retry after each delay."""
        request_id, attempts = first.request_id, 1 + len(self._retry_delays)
        try:
            # Lambda's internal queue between the 202 and the first attempt (`queue_ms`; 0 by default).
            if self.queue_seconds > 0 and self._stopping.wait(self.queue_seconds):
                return
            record = first
            while True:
                outcome = self._run_attempt(record, event)
                if outcome.error_type is None:
                    return
                if record.attempt == attempts:
                    logger.error("local lambda: %s %s gave up after %d attempts", name, request_id, attempts)
                    return
                if not self._wait_to_retry(record, self._retry_delays[record.attempt - 1]):
                    logger.warning("local lambda: %s %s: retry dropped at stop", name, request_id)
                    return
                record = self._queue(request_id, name, "Event", record.attempt + 1)
        finally:
            with self._lock:
                self._supervisors.discard(threading.current_thread())

    def _wait_to_retry(self, failed: AttemptRecord, delay: float) -> bool:
        """Waits `delay` before the next attempt (shown as the failed one's `next_attempt_at`); False
        when the stack stops first."""
        with self._lock:
            failed.next_attempt_at = time.time() + delay
        if not self._stopping.wait(delay):
            return True
        with self._lock:
            failed.next_attempt_at = None
        return False

    def set_cold(self, init_ms: float | None = None) -> None:
        """No idle environment is left (the next invocations pay the init); `init_ms`: the init's length."""
        with self._lock:
            self._warm.clear()
            if init_ms is not None:
                self.init_seconds = init_ms / 1000

    def _take_environment(self, name: str) -> bool:
        """An idle environment of the function, if any; True when there is none (a cold start)."""
        with self._lock:
            if self._warm.get(name, 0) > 0:
                self._warm[name] -= 1
                return False
            return True

    def _timeout(self, name: str) -> float:
        if self._deadline_seconds is not None:
            return self._deadline_seconds
        return self._timeouts.get(name, DEFAULT_TIMEOUT_SECONDS)

    def _run_attempt(self, record: AttemptRecord, event: Any) -> _Outcome:
        """One attempt in a thread of its own; returns when the handler does or its deadline passes.

        An attempt that finds no idle environment pays the init first (its deadline starts after it,
        as Lambda's does); one that succeeded leaves its environment idle for the next.
        """
        name, request_id, number = record.function, record.request_id, record.attempt
        cold = self._take_environment(name)
        with self._lock:
            record.cold = cold
            record.state = "init" if cold and self.init_seconds > 0 else record.state
        if record.state == "init" and self._stopping.wait(self.init_seconds):
            with self._lock:
                record.state, record.error, record.ended = "failed", "Runtime.ExitError", time.time()
            return _Outcome(error_type="Runtime.ExitError", error_message="The stack stopped during init.")
        timeout = self._timeout(name)
        attempt = _Attempt(record, InvocationContext(name, timeout, request_id))
        worker = threading.Thread(
            target=self._run_handler,
            args=(attempt, self._functions[name], event),
            name=f"local-lambda-{name}-{request_id[:8]}-{number}",
            daemon=True,  # a handler past its deadline must not hold the stack's exit
        )
        with self._lock:
            record.state, record.started = "running", time.time()
            self._running.add(attempt)
            self._workers.add(worker)
            if self._stopping.is_set():
                attempt.expire(self._stop_grace)
        worker.start()
        while attempt.outcome is None and attempt.seconds_left() > 0:
            attempt.wake.wait(attempt.seconds_left())
            attempt.wake.clear()  # the handler sets its outcome before it wakes us: checked above
        outcome = attempt.outcome or _Outcome(
            error_type=_TIMEOUT_ERROR, error_message=f"Task timed out after {timeout:.2f} seconds"
        )
        with self._lock:
            self._running.discard(attempt)
            attempt.record.ended = time.time()
            attempt.record.state = "succeeded" if outcome.error_type is None else "failed"
            attempt.record.error = outcome.error_type
            if outcome.error_type is None:  # a failed environment is not reused: the next one pays init
                self._warm[name] = self._warm.get(name, 0) + 1
        if outcome.error_type is not None:
            logger.error(
                "local lambda: %s %s attempt %d failed: %s%s",
                name,
                request_id,
                number,
                outcome.error_type,
                "" if attempt.outcome else " (left running: a thread cannot be stopped)",
            )
        return outcome

    def _run_handler(self, attempt: _Attempt, module: str, event: Any) -> None:
        try:
            try:
                handler: Callable[[Any, Any], Any] = importlib.import_module(module).lambda_handler
            except Exception as exc:  # Lambda's init error: the function fails, async retries follow
                attempt.outcome = _failure(exc, "Runtime.ImportModuleError")
                logger.error(
                    "local lambda: %s could not import %s", attempt.record.function, module, exc_info=exc
                )
                return
            try:
                result = handler(event, attempt.context)
                json.dumps(result)  # the runtime returns JSON: a result it cannot serialise is an error
            except Exception as exc:
                attempt.outcome = _failure(exc)
                # The runtime writes an unhandled error to the function's log, so do we (not the event).
                logger.error("local lambda: %s raised", attempt.record.function, exc_info=exc)
            else:
                attempt.outcome = _Outcome(result=result)
        finally:
            attempt.wake.set()
            with self._lock:
                self._workers.discard(threading.current_thread())

    # -- stopping ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Drops waiting retries, gives every running handler its deadline now, and waits for them
        (at most `stop_grace_seconds`). Blocking: call it from a thread."""
        with self._lock:
            self._stopping.set()
            running = list(self._running)
            supervisors = list(self._supervisors)
            workers = list(self._workers)
        for attempt in running:
            attempt.expire(self._stop_grace)
        bound = time.monotonic() + self._stop_grace
        for thread in supervisors + workers:
            thread.join(max(0.0, bound - time.monotonic()))
        left = [thread.name for thread in workers if thread.is_alive()]
        if left:
            logger.warning("local lambda: %d handler(s) still running past their deadline at stop", len(left))

    # -- HTTP ----------------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The Lambda API endpoint (AWS_ENDPOINT_URL_LAMBDA) and the invocations' control route."""
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post(INVOKE_PATH, self._handle_invoke)
        app.router.add_get(INVOCATIONS_PATH, self._handle_invocations)
        app.router.add_post(FAULTS_PATH, self._handle_faults)
        return app

    async def _handle_invocations(self, _: web.Request) -> web.Response:
        return web.json_response(self.invocations())

    async def _handle_faults(self, request: web.Request) -> web.Response:
        """`{"cold": true}` leaves no idle environment; `{"init_ms": MS}` too, and sets the init's length
        (the bench's cold companion: Lambda's init under its CPU model); `{"queue_ms": MS}` holds each
        async invocation that long before its first attempt (Lambda's internal queue)."""
        patch = await request.json()
        if not isinstance(patch, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        init_ms = patch.get("init_ms")
        if patch.get("queue_ms") is not None:
            self.queue_seconds = float(patch["queue_ms"]) / 1000
        if patch.get("cold") or init_ms is not None:
            self.set_cold(float(init_ms) if init_ms is not None else None)
        return web.json_response({"ok": True})

    async def _handle_invoke(self, request: web.Request) -> web.Response:
        parsed = await _parse_invoke(request, self.resolve)
        if isinstance(parsed, web.Response):
            return parsed
        name, kind, event = parsed
        if kind == "DryRun":
            return web.Response(status=204, headers={"x-amzn-RequestId": str(uuid.uuid4())})
        if kind == "Event":
            try:
                request_id = self.invoke_async(name, event)
            except RuntimeError:
                return _error(500, "ServiceException", "The stack is stopping.")
            return web.Response(status=202, headers={"x-amzn-RequestId": request_id})
        request_id, outcome = await asyncio.to_thread(self.invoke_sync, name, event)
        headers = {"x-amzn-RequestId": request_id, "X-Amz-Executed-Version": "$LATEST"}
        payload = outcome.result
        if outcome.error_type is not None:
            headers["X-Amz-Function-Error"] = "Unhandled"
            payload = {
                "errorMessage": outcome.error_message,
                "errorType": outcome.error_type,
                "requestId": request_id,
                "stackTrace": outcome.stack_trace,
            }
        return web.Response(
            status=200, text=json.dumps(payload), content_type="application/json", headers=headers
        )


async def _parse_invoke(
    request: web.Request, resolve: Callable[[str, str | None], str]
) -> tuple[str, str, Any] | web.Response:
    """(function name, invocation type, event), or Lambda's error for a request it would refuse."""
    try:
        name = resolve(request.match_info["name"], request.query.get("Qualifier"))
    except UnknownFunction as exc:
        return _error(404, "ResourceNotFoundException", f"Function not found: {exc.arn}")
    kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
    if kind not in {"Event", "RequestResponse", "DryRun"}:
        return _error(400, "InvalidParameterValueException", f"Invalid invocation type: {kind}")
    body = await request.read()
    try:
        event = json.loads(body) if body.strip() else {}
    except ValueError as exc:
        return _error(400, "InvalidRequestContentException", f"Could not parse request body into json: {exc}")
    return name, kind, event


def _failure(exc: BaseException, error_type: str | None = None) -> _Outcome:
    """The Python runtime's error object for an exception the handler raised."""
    return _Outcome(
        error_type=error_type or type(exc).__name__,
        error_message=str(exc),
        stack_trace=traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    )


def _error(status: int, code: str, message: str) -> web.Response:
    """Lambda's API error: the code in x-amzn-ErrorType (botocore reads it there), the message in the body."""
    return web.Response(
        status=status,
        text=json.dumps({"Type": "User", "Message": message}),
        content_type="application/json",
        headers={"x-amzn-ErrorType": code, "x-amzn-RequestId": str(uuid.uuid4())},
    )
