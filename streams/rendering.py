"""How a message payload is shown: pretty JSON, text, or a hex dump for binary; cut when large."""

import json

PREVIEW_BYTES = 64 * 1024


def render_payload(data: bytes, *, limit: int | None = PREVIEW_BYTES) -> dict:
    size = len(data)
    truncated = limit is not None and size > limit
    shown = data[:limit] if truncated else data
    try:
        text = data.decode("utf-8") if not truncated else shown.decode("utf-8", "ignore")
    except UnicodeDecodeError:
        text = None
    if text is not None and _is_text(text):
        if not truncated:
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            else:
                if isinstance(parsed, (dict, list)):
                    return {"kind": "json", "text": json.dumps(parsed, indent=2, ensure_ascii=False),
                            "size": size, "truncated": False}
        return {"kind": "text", "text": text, "size": size, "truncated": truncated}
    return {"kind": "binary", "text": hex_dump(shown), "size": size, "truncated": truncated}


def _is_text(text: str) -> bool:
    return all(ch.isprintable() or ch in "\n\r\t" for ch in text[:4096])


def hex_dump(data: bytes) -> str:
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset:offset + 16]
        hex_part = " ".join(f"{b:02x}" for b in chunk)
        text_part = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hex_part:<47}  {text_part}")
    return "\n".join(lines)
