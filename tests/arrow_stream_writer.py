#!/usr/bin/env python3
"""Writes an Apache Arrow IPC stream file (the format Hugging Face datasets' ArrowWriter writes
through pyarrow's RecordBatchStreamWriter) from a JSON spec, with the standard library alone, for
the tests of runtime/eval/arrow_ipc.c. Written from the Arrow columnar format and IPC spec
(format/Message.fbs, Schema.fbs) and the flatbuffers binary format; pyarrow is not installable here.

usage: arrow_stream_writer.py SPEC.json OUT.arrow

SPEC: {"schema": [{"name": N, "type": T}, ...], "batches": [[ROW, ...], ...],
       "metadata": {KEY: VALUE}, "big_endian": false, "patches": [PATCH, ...]}
A column may say "dictionary": true (its schema then declares dictionary encoding; its data is
written plain, for the reader's refusal of the schema).
T: "bool", "int8".."int64", "uint8".."uint64", "float32", "float64", "utf8", "large_utf8",
   "binary", {"list": T} or {"large_list": T}. A ROW is an object with a value (or null) per column.
PATCH (to make malformed files; "batch" is the record batch's index):
  {"batch": B, "buffer": K, "i32": [...]} or "hex": "..."   replace buffer K's bytes
  {"batch": B, "buffer": K, "offset": O, "length": L}        rewrite buffer K's descriptor
  {"batch": B, "node": K, "length": L, "null_count": C}      rewrite field node K
  {"batch": B, "rows": N}                                    rewrite the batch's row count
  {"batch": B, "compression": true}                          declare a compressed body (LZ4_FRAME)
"""
import json
import struct
import sys

CONTINUATION = 0xFFFFFFFF
METADATA_V5 = 4
HEADER_SCHEMA, HEADER_RECORD_BATCH = 1, 3
TYPE_IDS = {"int": 2, "float": 3, "binary": 4, "utf8": 5, "bool": 6, "list": 12, "large_utf8": 20, "large_list": 21}
SCALARS = {"u8": "<B", "bool": "<?", "i16": "<h", "i32": "<i", "i64": "<q"}


class Table:
    """A flatbuffer table: slots[i] is None (absent) or (kind, value), kind a SCALARS key,
    "table", "string", "tables" (a vector of tables) or "structs" ((bytes, count): a vector of
    8-byte aligned structs)."""

    def __init__(self, *slots):
        self.slots = slots


class Builder:
    """Writes a flatbuffer front to back: the root offset, then each table after its vtable and
    before what it refers to, so every uoffset points forward as the format requires. Scalars
    are aligned to their size and tables to 8 bytes, as flatc's builder does."""

    def __init__(self):
        self.buf = bytearray(4)

    def align(self, n, extra=0):
        while (len(self.buf) + extra) % n:
            self.buf.append(0)

    def finish(self, root):
        struct.pack_into("<I", self.buf, 0, self.table(root))
        return bytes(self.buf)

    def table(self, t):
        n = len(t.slots)
        self.align(2)
        vtable = len(self.buf)
        self.buf += bytes(4 + 2 * n)
        self.align(8)
        start = len(self.buf)
        self.buf += bytes(4)
        pending = []
        for i, slot in enumerate(t.slots):
            if slot is None:
                continue
            kind, value = slot
            if kind in SCALARS:
                size = struct.calcsize(SCALARS[kind])
                self.align(size)
                struct.pack_into("<H", self.buf, vtable + 4 + 2 * i, len(self.buf) - start)
                self.buf += struct.pack(SCALARS[kind], value)
            else:
                self.align(4)
                struct.pack_into("<H", self.buf, vtable + 4 + 2 * i, len(self.buf) - start)
                pending.append((len(self.buf), kind, value))
                self.buf += bytes(4)
        struct.pack_into("<HH", self.buf, vtable, 4 + 2 * n, len(self.buf) - start)
        struct.pack_into("<i", self.buf, start, start - vtable)
        for at, kind, value in pending:
            struct.pack_into("<I", self.buf, at, self.child(kind, value) - at)
        return start

    def child(self, kind, value):
        if kind == "table":
            return self.table(value)
        if kind == "string":
            data = value.encode()
            self.align(4)
            at = len(self.buf)
            self.buf += struct.pack("<I", len(data)) + data + b"\0"
            return at
        if kind == "tables":
            self.align(4)
            at = len(self.buf)
            self.buf += struct.pack("<I", len(value)) + bytes(4 * len(value))
            for k, t in enumerate(value):
                slot = at + 4 + 4 * k
                struct.pack_into("<I", self.buf, slot, self.table(t) - slot)
            return at
        if kind == "structs":
            data, count = value
            self.align(8, extra=4)
            at = len(self.buf)
            self.buf += struct.pack("<I", count) + data
            return at
        raise ValueError(kind)


def flatbuffer(root):
    return Builder().finish(root)


def kind_of(t):
    """(family, detail) of a type spec: ("int", (bits, signed)), ("float", bits), ("list", T)..."""
    if isinstance(t, dict):
        (name, item), = t.items()
        return name, item
    if t.startswith(("int", "uint")):
        signed = t.startswith("int")
        return "int", (int(t[3:] if signed else t[4:]), signed)
    if t.startswith("float"):
        return "float", int(t[5:])
    return t, None


def type_table(t):
    family, detail = kind_of(t)
    if family == "int":
        return Table(("i32", detail[0]), ("bool", detail[1]))
    if family == "float":
        return Table(("i16", {16: 0, 32: 1, 64: 2}[detail]))
    return Table()


def field_table(name, t, dictionary=False):
    family, detail = kind_of(t)
    children = [field_table("item", detail)] if family in ("list", "large_list") else []
    # DictionaryEncoding {id, indexType: Int}
    encoding = ("table", Table(("i64", 0), ("table", type_table("int32")))) if dictionary else None
    return Table(("string", name), ("bool", True), ("u8", TYPE_IDS[family]), ("table", type_table(t)), encoding,
                 ("tables", children))


def bitmap(bits):
    out = bytearray((len(bits) + 7) // 8)
    for i, b in enumerate(bits):
        if b:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def column(t, values, nodes, buffers):
    """Appends the field node and buffers of values (and of its children) in Arrow's depth-first
    order: validity bitmap (left empty without nulls, as pyarrow does), then the type's own."""
    family, detail = kind_of(t)
    nulls = sum(v is None for v in values)
    nodes.append((len(values), nulls))
    buffers.append(bitmap([v is not None for v in values]) if nulls else b"")
    if family == "bool":
        buffers.append(bitmap([bool(v) for v in values]))
    elif family in ("int", "float"):
        if family == "int":
            fmt = {8: "b", 16: "h", 32: "i", 64: "q"}[detail[0]]
            fmt = "<" + (fmt if detail[1] else fmt.upper())
        else:
            fmt = {32: "<f", 64: "<d"}[detail]
        buffers.append(b"".join(struct.pack(fmt, 0 if v is None else v) for v in values))
    elif family in ("utf8", "large_utf8", "binary", "list", "large_list"):
        fmt = "<q" if family.startswith("large") else "<i"
        offsets, data, items = [0], bytearray(), []
        for v in values:
            if family in ("list", "large_list"):
                items += v or []
                offsets.append(len(items))
            else:
                data += (v or "").encode()
                offsets.append(len(data))
        buffers.append(b"".join(struct.pack(fmt, o) for o in offsets))
        if family in ("list", "large_list"):
            column(detail, items, nodes, buffers)
        else:
            buffers.append(bytes(data))
    else:
        raise ValueError(t)


def patched(patches, batch, key):
    return [p for p in patches if p.get("batch") == batch and key in p]


def record_batch(spec, b, rows):
    patches = spec.get("patches", [])
    nodes, buffers = [], []
    for f in spec["schema"]:
        column(f["type"], [row[f["name"]] for row in rows], nodes, buffers)
    for p in patched(patches, b, "i32"):
        buffers[p["buffer"]] = struct.pack("<%di" % len(p["i32"]), *p["i32"])
    for p in patched(patches, b, "hex"):
        buffers[p["buffer"]] = bytes.fromhex(p["hex"])
    body, descriptors = bytearray(), []
    for data in buffers:
        descriptors.append([len(body), len(data)])
        body += data + bytes(-len(data) % 8)
    for p in patched(patches, b, "offset"):
        descriptors[p["buffer"]] = [p["offset"], p["length"]]
    for p in patched(patches, b, "node"):
        nodes[p["node"]] = (p["length"], p["null_count"])
    length = len(rows)
    for p in patched(patches, b, "rows"):
        length = p["rows"]
    slots = [("i64", length),
             ("structs", (b"".join(struct.pack("<qq", *n) for n in nodes), len(nodes))),
             ("structs", (b"".join(struct.pack("<qq", *d) for d in descriptors), len(descriptors)))]
    if patched(patches, b, "compression"):
        slots.append(("table", Table(("u8", 0), ("u8", 0))))
    return Table(*slots), bytes(body)


def message(header_type, header, body=b""):
    meta = flatbuffer(Table(("i16", METADATA_V5), ("u8", header_type), ("table", header), ("i64", len(body))))
    meta += bytes(-(8 + len(meta)) % 8)
    return struct.pack("<Ii", CONTINUATION, len(meta)) + meta + body


def stream(spec):
    metadata = [Table(("string", k), ("string", v)) for k, v in spec.get("metadata", {}).items()]
    fields = [field_table(f["name"], f["type"], f.get("dictionary", False)) for f in spec["schema"]]
    schema = Table(("i16", int(spec.get("big_endian", False))), ("tables", fields), ("tables", metadata))
    out = [message(HEADER_SCHEMA, schema)]
    for b, rows in enumerate(spec["batches"]):
        out.append(message(HEADER_RECORD_BATCH, *record_batch(spec, b, rows)))
    out.append(struct.pack("<Ii", CONTINUATION, 0))
    return b"".join(out)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    with open(sys.argv[2], "wb") as f:
        f.write(stream(spec))


if __name__ == "__main__":
    main()
