"""The call as a user lives it: connect, hear, speak, read, mute, switch microphone, hang up."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import PageRecord, Stack
from tests.browser.helpers import (
    STATE_TIMEOUT_MS,
    connect,
    eventually,
    record_server_events,
    server_event_types,
    status,
    wait_for_inbound_audio,
)

pytestmark = pytest.mark.browser


def test_connect_shows_connected_and_plays_the_assistant(page: Page, stack: Stack) -> None:
    # Given the page, before anything happens
    expect(status(page)).to_have_text("Not connected")
    record_server_events(page)

    # When the user connects
    connect(page)

    # Then the session is up, the assistant's audio arrives, and the controls follow the state
    assert "session.created" in server_event_types(page)
    wait_for_inbound_audio(page)
    expect(page.get_by_role("button", name="Disconnect")).to_be_visible()
    expect(page.get_by_role("button", name="Mute")).to_be_enabled()
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_hidden()
    calls = stack.standin.calls()
    assert len(calls) == 1
    assert calls[0]["data_channel_open"]


def test_assistant_transcript_appears_after_the_microphone_speaks(page: Page, stack: Stack) -> None:
    connect(page)

    # The fake microphone beeps; the stand-in hears speech and answers with a full turn.
    user_turn = page.locator(".turn--user[data-final='true'] .turn__text").first
    assistant_turn = page.locator(".turn--assistant[data-final='true'] .turn__text").first
    expect(user_turn).not_to_be_empty(timeout=STATE_TIMEOUT_MS)
    expect(assistant_turn).not_to_be_empty(timeout=STATE_TIMEOUT_MS)

    # What the page shows is what the server said, word for word
    events = stack.standin.calls()[0]["server_events"]
    said = next(e["transcript"] for e in events if e["type"] == "response.output_audio_transcript.done")
    heard = next(
        e["transcript"]
        for e in events
        if e["type"] == "conversation.item.input_audio_transcription.completed"
    )
    expect(assistant_turn).to_have_text(said)
    expect(user_turn).to_have_text(heard)


def test_typed_message_gets_an_answer(page: Page, stack: Stack) -> None:
    connect(page)

    page.get_by_label("Message").fill("What time is it in Lisbon?")
    page.get_by_role("button", name="Send").click()

    expect(page.locator(".turn--user .turn__text", has_text="What time is it in Lisbon?")).to_be_visible()
    expect(page.locator(".turn--assistant", has_text="Lisbon")).to_be_visible(timeout=STATE_TIMEOUT_MS)
    expect(page.get_by_label("Message")).to_have_value("")
    sent = [
        e for e in stack.standin.calls()[0]["client_events"] if e.get("type") == "conversation.item.create"
    ]
    assert sent[-1]["item"]["content"] == [{"type": "input_text", "text": "What time is it in Lisbon?"}]


def test_a_message_typed_while_the_assistant_answers_is_answered_after_it(page: Page, stack: Stack) -> None:
    # OpenAI refuses a response while another is active: the page asks again once that one is done,
    # instead of telling the visitor it could not handle the request.
    connect(page)
    # Both in one task, so the second response.create surely reaches OpenAI while the first is active
    page.evaluate(
        """() => {
            const box = document.querySelector('#message');
            const form = box.form;
            for (const text of ['What time is it in Lisbon?', 'And what time is it in Tokyo?']) {
                box.value = text;
                form.requestSubmit();
            }
        }"""
    )

    expect(page.locator(".turn--assistant", has_text="Lisbon")).to_be_visible(timeout=STATE_TIMEOUT_MS)
    expect(page.locator(".turn--assistant", has_text="Tokyo")).to_be_visible(timeout=STATE_TIMEOUT_MS)
    expect(page.get_by_role("alert")).to_have_count(0)  # no error shown
    events = stack.standin.calls()[0]["client_events"]
    assert [e["type"] for e in events].count("response.create") == 3  # the refused one, asked again


def test_mute_stops_the_sound_reaching_the_service(page: Page, stack: Stack) -> None:
    connect(page)
    eventually(
        lambda: stack.standin.calls()[0], lambda c: c["mic_level"] > 0.01, "the microphone to be heard"
    )

    page.get_by_role("button", name="Mute").click()

    mute = page.get_by_role("button", name="Mute")
    expect(mute).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#mic-level-name")).to_have_text("You (muted)")
    packets_when_muted = stack.standin.calls()[0]["mic_packets"]
    # Silence arrives (packets keep flowing on the same connection), not sound
    eventually(
        lambda: stack.standin.calls()[0],
        lambda c: c["mic_level"] < 0.001 and c["mic_packets"] > packets_when_muted + 25,
        "silence from the muted microphone",
    )
    expect(status(page)).to_have_text("Connected")

    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "false")
    eventually(lambda: stack.standin.calls()[0], lambda c: c["mic_level"] > 0.01, "sound again after unmute")


def test_disconnect_closes_the_connection_and_releases_the_microphone(page: Page, stack: Stack) -> None:
    connect(page)
    page.evaluate(
        """() => {
            const debug = window.__realtimeVendDebug;
            window.__heldTracks = debug.microphone.stream.getTracks();
            window.__heldPc = debug.call.peerConnection;
        }"""
    )

    page.get_by_role("button", name="Disconnect").click()

    expect(status(page)).to_have_text("Disconnected")
    assert page.evaluate("() => window.__heldPc.connectionState") == "closed"
    assert page.evaluate("() => window.__heldTracks.map((t) => t.readyState)") == ["ended"]
    assert page.evaluate("() => window.__realtimeVendDebug.microphone.stream") is None
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_focused()
    eventually(
        lambda: stack.standin.calls()[0], lambda c: c["state"] == "closed", "the service to see the hang-up"
    )


def test_switching_microphone_mid_call_keeps_the_same_connection(page: Page, stack: Stack) -> None:
    connect(page)
    picker = page.get_by_label("Microphone")
    expect(picker.locator("option")).not_to_have_count(0)
    options = picker.locator("option").evaluate_all("(os) => os.map((o) => o.value)")
    if len(options) < 2:
        pytest.skip("this Chromium offers a single fake microphone")
    page.evaluate(
        """() => {
            const debug = window.__realtimeVendDebug;
            window.__pcBefore = debug.call.peerConnection;
            window.__trackBefore = debug.microphone.track;
        }"""
    )
    current = picker.input_value()
    other = next(value for value in options if value != current)

    picker.select_option(other)

    page.wait_for_function(
        """(deviceId) => {
            const debug = window.__realtimeVendDebug;
            const sender = debug.call.peerConnection.getSenders().find((s) => s.track?.kind === 'audio');
            return debug.microphone.deviceId === deviceId && sender.track === debug.microphone.track
                && window.__trackBefore.readyState === 'ended';
        }""",
        arg=other,
        timeout=STATE_TIMEOUT_MS,
    )
    assert page.evaluate("() => window.__pcBefore === window.__realtimeVendDebug.call.peerConnection")
    expect(status(page)).to_have_text("Connected")
    packets = stack.standin.calls()[0]["mic_packets"]
    eventually(
        stack.standin.calls,
        lambda cs: len(cs) == 1 and cs[0]["mic_packets"] > packets + 25,
        "audio from the new microphone on the same call",
    )


def test_disconnect_while_connecting_leaves_nothing_running_and_can_connect_again(
    page: Page, stack: Stack
) -> None:
    # Given the user changes their mind right after pressing Connect
    page.get_by_role("button", name="Connect", exact=True).click()
    page.get_by_role("button", name="Disconnect").click()
    expect(status(page)).to_have_text("Disconnected")

    # Then nothing is left open, and connecting again works
    page.wait_for_function("() => window.__realtimeVendDebug.microphone.stream === null")
    connect(page)
    calls = stack.standin.calls()
    assert [c["state"] for c in calls].count("connected") == 1
    expect(page.locator("#mic-level-name")).to_have_text("You")


def test_refused_playback_offers_enable_sound_which_unlocks_it(
    context: BrowserContext, page_record: PageRecord, stack: Stack
) -> None:
    # Given a browser that refuses to start playback once (as with a strict autoplay policy): the
    # refusal is the browser's, so it is made here, before any page script runs
    context.add_init_script(
        """(() => {
            const play = HTMLMediaElement.prototype.play;
            let refusals = 1;
            HTMLMediaElement.prototype.play = function () {
                if (this.srcObject && refusals > 0) {
                    refusals -= 1;
                    return Promise.reject(new DOMException('play() needs a gesture', 'NotAllowedError'));
                }
                return play.call(this);
            };
        })();"""
    )
    page = context.new_page()
    page.on("pageerror", lambda error: page_record.console_errors.append(f"uncaught: {error}"))
    page.goto(f"{stack.url}?debug")
    connect(page)

    # Then the page offers a control that starts the sound, and it does
    enable = page.get_by_role("button", name="Enable sound")
    expect(enable).to_be_visible()
    enable.click()
    expect(enable).to_be_hidden()
    assert page.evaluate("() => document.getElementById('assistant-audio').paused") is False
    assert page_record.console_errors == []


# What the browser does when a microphone is unplugged: the track ends (readyState 'ended') and
# fires `ended`. MediaStreamTrack.stop() alone fires nothing, so the event is dispatched too.
UNPLUG = """() => {
    const track = window.__realtimeVendDebug.microphone.track;
    window.__unpluggedTrack = track;
    track.stop();
    track.dispatchEvent(new Event('ended'));
}"""


def test_unplugged_microphone_hands_over_to_another_and_the_call_goes_on(page: Page, stack: Stack) -> None:
    # Given a call on the default microphone, with another one plugged in
    connect(page)
    devices = page.evaluate(
        """async () => (await navigator.mediaDevices.enumerateDevices())
            .filter((device) => device.kind === 'audioinput').length"""
    )
    if devices < 2:
        pytest.skip("this Chromium offers a single fake microphone")
    page.evaluate("() => { window.__pcBefore = window.__realtimeVendDebug.call.peerConnection; }")

    # When the microphone is unplugged
    page.evaluate(UNPLUG)

    # Then the user is told, and the same call carries on with another device's sound
    expect(page.get_by_role("alert")).to_contain_text(
        "The microphone was disconnected. The call continues with"
    )
    page.wait_for_function(
        """() => {
            const debug = window.__realtimeVendDebug;
            const sender = debug.call.peerConnection.getSenders().find((s) => s.track?.kind === 'audio');
            return sender.track === debug.microphone.track && sender.track !== window.__unpluggedTrack
                && sender.track.readyState === 'live';
        }""",
        timeout=STATE_TIMEOUT_MS,
    )
    assert page.evaluate("() => window.__pcBefore === window.__realtimeVendDebug.call.peerConnection")
    expect(status(page)).to_have_text("Connected")
    packets = stack.standin.calls()[0]["mic_packets"]
    eventually(
        stack.standin.calls,
        lambda cs: len(cs) == 1 and cs[0]["mic_packets"] > packets + 25 and cs[0]["mic_level"] > 0.01,
        "sound from the other microphone on the same call",
    )


def test_unplugged_last_microphone_ends_the_call_and_says_why(page: Page, stack: Stack) -> None:
    # Given a call whose microphone is the only one
    connect(page)

    # When it is unplugged and nothing else can be opened (as the browser then reports it)
    page.evaluate(
        """() => {
            const devices = navigator.mediaDevices;
            devices.enumerateDevices = async () => [];
            devices.getUserMedia = async () => {
                throw new DOMException('Requested device not found', 'NotFoundError');
            };
        }"""
    )
    page.evaluate(UNPLUG)

    # Then the call ends cleanly, with the reason on screen and nothing left running
    expect(page.get_by_role("alert")).to_have_text(
        "The microphone was disconnected and no other microphone was found. Plug one in, then connect again."
    )
    expect(status(page)).to_have_text("Disconnected")
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_visible()
    assert page.evaluate("() => window.__realtimeVendDebug.call.peerConnection") is None
    assert page.evaluate("() => window.__realtimeVendDebug.microphone.stream") is None
    eventually(
        lambda: stack.standin.calls()[0], lambda c: c["state"] == "closed", "the service to see the hang-up"
    )
