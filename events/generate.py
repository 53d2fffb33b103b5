#!/usr/bin/env python3
"""Builds the CloudWatch Logs subscription sample events from readable sources.

A CloudWatch Logs subscription invokes Lambda with {"awslogs": {"data": "<base64 of gzip of JSON>"}}.
That is unreadable, so the decoded JSON is kept in src/<name>.logdata.json and this script writes
<name>.json next to it:

    python3 events/generate.py            # rewrite every events/<name>.json from events/src/
    python3 events/generate.py --check    # exit 1 if a committed file is out of date

Conveniences in the sources (all optional; the output is exactly what AWS sends):
  * logEvents[].message may be a string (used as is), a JSON object (written as compact JSON, the
    way CloudTrail writes a record into CloudWatch Logs), or a list of parts that are concatenated
    (strings as is, anything else as compact JSON).
  * logEvents[].timestamp may be left out when the message is a CloudTrail record: it is then the
    record's eventTime in epoch milliseconds, as CloudTrail sets it.
  * logEvents[].id may be left out: it is then a 56-digit decimal string shaped like a real one
    (the event timestamp in the bits above 144, a per-stream base plus the event index below).
    Give "id" explicitly to keep a value (CONTROL_MESSAGE events carry "").

The gzip member is written with mtime=0, so the output is byte-for-byte reproducible.
Standard library only.
"""

import argparse
import base64
import datetime
import gzip
import hashlib
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
SRC = HERE / "src"
SUFFIX = ".logdata.json"
TOP_LEVEL_KEYS = ("messageType", "owner", "logGroup", "logStream", "subscriptionFilters", "logEvents")


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render_message(message, where):
    if isinstance(message, str):
        return message
    if isinstance(message, dict):
        return compact(message)
    if isinstance(message, list):
        return "".join(part if isinstance(part, str) else compact(part) for part in message)
    raise SystemExit(f"{where}: message must be a string, an object or a list of parts")


def epoch_ms(iso_time, where):
    try:
        moment = datetime.datetime.fromisoformat(iso_time.replace("Z", "+00:00"))
    except ValueError as err:
        raise SystemExit(f"{where}: bad eventTime {iso_time!r}: {err}")
    return int(moment.timestamp() * 1000)


def event_id(timestamp, base, index):
    value = (timestamp << 144) | ((base + index) & ((1 << 144) - 1))
    text = str(value)
    if len(text) != 56:
        raise SystemExit(f"generated id {text} is {len(text)} digits, expected 56")
    return text


def build(source_path):
    data = json.loads(source_path.read_text(encoding="utf-8"))
    name = source_path.name
    missing = [key for key in TOP_LEVEL_KEYS if key not in data]
    extra = [key for key in data if key not in TOP_LEVEL_KEYS]
    if missing or extra:
        raise SystemExit(f"{name}: missing keys {missing}, unexpected keys {extra}")
    if data["messageType"] not in ("DATA_MESSAGE", "CONTROL_MESSAGE"):
        raise SystemExit(f"{name}: messageType must be DATA_MESSAGE or CONTROL_MESSAGE")

    stream_key = f"{data['owner']}/{data['logGroup']}/{data['logStream']}".encode()
    base = int.from_bytes(hashlib.sha256(stream_key).digest()[:15], "big")  # 120 bits
    events = []
    previous = None
    for index, source_event in enumerate(data["logEvents"]):
        where = f"{name}: logEvents[{index}]"
        unknown = set(source_event) - {"id", "timestamp", "message"}
        if unknown:
            raise SystemExit(f"{where}: unexpected keys {sorted(unknown)}")
        raw = source_event.get("message")
        message = render_message(raw, where)
        timestamp = source_event.get("timestamp")
        if timestamp is None:
            if not (isinstance(raw, dict) and "eventTime" in raw):
                raise SystemExit(f"{where}: timestamp is required unless the message is a CloudTrail record")
            timestamp = epoch_ms(raw["eventTime"], where)
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            raise SystemExit(f"{where}: timestamp must be an integer (epoch milliseconds)")
        if previous is not None and timestamp < previous:
            raise SystemExit(f"{where}: timestamps must not go backwards within a stream")
        previous = timestamp
        identifier = source_event.get("id")
        if identifier is None:
            identifier = event_id(timestamp, base, index)
        if not isinstance(identifier, str):
            raise SystemExit(f"{where}: id must be a string")
        events.append({"id": identifier, "timestamp": timestamp, "message": message})

    payload = {key: data[key] for key in TOP_LEVEL_KEYS[:-1]}
    payload["logEvents"] = events
    raw_json = compact(payload).encode("utf-8")
    encoded = base64.b64encode(gzip.compress(raw_json, compresslevel=9, mtime=0)).decode("ascii")
    return json.dumps({"awslogs": {"data": encoded}}, indent=2) + "\n", len(events), len(raw_json)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    args = parser.parse_args()

    sources = sorted(SRC.glob("*" + SUFFIX))
    if not sources:
        raise SystemExit(f"no {SUFFIX} files in {SRC}")
    stale = []
    for source_path in sources:
        target = HERE / (source_path.name[: -len(SUFFIX)] + ".json")
        text, count, size = build(source_path)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if args.check:
            if current != text:
                stale.append(target.name)
            continue
        if current != text:
            target.write_text(text, encoding="utf-8")
            state = "written"
        else:
            state = "unchanged"
        print(f"{target.name}: {count} log events, {size} bytes of JSON, {state}")
    if stale:
        print("out of date (run events/generate.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
