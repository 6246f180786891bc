#!/usr/bin/env python3
"""Writes the CID -> Unicode tables of Adobe's character collections that cid_unicode.rs reads.

The source is Adobe's cmap-resources (BSD-3-Clause, see LICENSE-Adobe-cmap-resources.txt next
to this script), as Debian's `poppler-data` package installs them under /usr/share/poppler/cMap:
the `Adobe-<Ordering>-UCS2` CMap of each collection, which maps every CID to its Unicode text.
(poppler-data's /usr/share/poppler/cidToUnicode files carry the same facts but are GPL-2; they
are read only by --check, never copied.)

Output, one file per collection, `<Ordering>.bin`, big-endian:
    u32 run count, then runs of (u16 first CID, u8 count - 1, u24 first code point): CIDs
        first..first+count map to consecutive code points;
    u32 sequence count, then (u16 CID, u8 n, n x u32 code point) for CIDs whose text is
        several code points.
CIDs mapped to U+FFFD (CID 0, .notdef) are left out.

And `cmaps.bin`, the predefined byte CMaps Chinese, Japanese and Korean PDFs name as /Encoding
(BYTE_CMAPS below), each as its file has it (a -V CMap keeps its `usecmap` of the -H one):
    u16 CMap count, then per CMap: u8 n + name, u8 n + usecmap parent (n = 0: none),
    u8 collection (index into COLLECTIONS), u8 WMode, u8 codespace count, per range u8 length +
    low bytes + high bytes; u32 mapping count, per mapping u8 code length n, n bytes first code,
    u8 count - 1, u16 first CID (cidchar and cidrange alike, neighbours merged; a mapping
    varies in the last byte only).

    python3 gen_cid_tables.py [CMAP_DIR]          # rewrite the .bin files next to this script
    python3 gen_cid_tables.py --check [CMAP_DIR]  # compare with the files, and report how the
        legacy byte CMaps (GBK-EUC-H, 90ms-RKSJ-H, ...) agree with Python's codecs, which is
        what the encoding_rs route in cmap.rs relies on
"""

import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTIONS = ["GB1", "CNS1", "Japan1", "Korea1", "KR"]

# Legacy byte CMaps -> the codec that decodes the same bytes (cmap.rs decodes them with
# encoding_rs: GBK, Big5, Shift_JIS, EUC-JP, EUC-KR).
LEGACY = {
    "GB1": [("GBK-EUC-H", "gbk"), ("GBpc-EUC-H", "gbk"), ("GB-EUC-H", "gbk"), ("GBK-EUC-V", "gbk")],
    "CNS1": [("B5pc-H", "cp950"), ("ETen-B5-H", "cp950"), ("ETenms-B5-H", "cp950"),
             ("HKscs-B5-H", "big5hkscs"), ("B5pc-V", "cp950")],
    "Japan1": [("90ms-RKSJ-H", "cp932"), ("90msp-RKSJ-H", "cp932"), ("RKSJ-H", "cp932"),
               ("83pv-RKSJ-H", "cp932"), ("EUC-H", "euc_jp"), ("90ms-RKSJ-V", "cp932")],
    "Korea1": [("KSC-EUC-H", "euc_kr"), ("KSCms-UHC-H", "cp949"), ("KSCpc-EUC-H", "cp949"),
               ("KSCms-UHC-V", "cp949")],
}

# The legacy (non-Unicode) byte CMaps we ship, by collection; each -H comes with its -V twin.
BYTE_CMAPS = {
    "GB1": ["GB-EUC", "GBpc-EUC", "GBK-EUC", "GBK2K", "GB"],
    "CNS1": ["B5pc", "ETen-B5", "ETenms-B5", "HKscs-B5", "CNS-EUC"],
    "Japan1": ["90ms-RKSJ", "90msp-RKSJ", "90pv-RKSJ", "RKSJ", "EUC", "", "Add-RKSJ", "Ext-RKSJ"],
    "Korea1": ["KSC-EUC", "KSCms-UHC", "KSCms-UHC-HW", "KSCpc-EUC", "KSC"],
}
# Rarer ones (GBKp-EUC, GBT*, ETHK-B5, B5, CNS1/CNS2, 78*, Add, Ext, Hojo*, NWP) are left to
# cmap.rs's encoding_rs decoding where an encoding fits, and to nothing otherwise.
# Only an -H exists.
H_ONLY = {"83pv-RKSJ-H"}

TOKEN = re.compile(rb"<([0-9A-Fa-f]*)>|\[|\]|/?[A-Za-z0-9_.-]+")


def tokens(data):
    data = re.sub(rb"%[^\n]*", b"", data)
    for m in TOKEN.finditer(data):
        yield m.group(0)


def hexval(tok):
    return bytes.fromhex(tok[1:-1].decode())


def utf16(b):
    units = [int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b), 2)]
    return [ord(c) for c in struct.pack(">%dH" % len(units), *units).decode("utf-16-be", "replace")]


def read_ucs2(path):
    """CID -> list of code points, from an Adobe-*-UCS2 CMap (bfchar / bfrange)."""
    out = {}
    toks = list(tokens(open(path, "rb").read()))
    i = 0
    mode = None
    while i < len(toks):
        t = toks[i]
        if t in (b"beginbfchar", b"beginbfrange"):
            mode = t
            i += 1
            continue
        if t in (b"endbfchar", b"endbfrange"):
            mode = None
            i += 1
            continue
        if mode == b"beginbfchar":
            cid = int.from_bytes(hexval(toks[i]), "big")
            out[cid] = utf16(hexval(toks[i + 1]))
            i += 2
        elif mode == b"beginbfrange":
            lo = int.from_bytes(hexval(toks[i]), "big")
            hi = int.from_bytes(hexval(toks[i + 1]), "big")
            if toks[i + 2] == b"[":
                j = i + 3
                k = lo
                while toks[j] != b"]":
                    out[k] = utf16(hexval(toks[j]))
                    k += 1
                    j += 1
                i = j + 1
            else:
                base = hexval(toks[i + 2])
                units = [int.from_bytes(base[x:x + 2], "big") for x in range(0, len(base), 2)]
                for k in range(lo, hi + 1):
                    u = units[:-1] + [units[-1] + (k - lo)]
                    out[k] = utf16(struct.pack(">%dH" % len(u), *u))
                i += 3
        else:
            i += 1
    return {c: u for c, u in out.items() if u != [0xFFFD]}


def encode(table):
    singles = sorted((c, u[0]) for c, u in table.items() if len(u) == 1)
    runs = []
    for cid, cp in singles:
        if runs and runs[-1][0] + runs[-1][1] == cid and runs[-1][2] + runs[-1][1] == cp \
                and runs[-1][1] < 256:
            runs[-1][1] += 1
        else:
            runs.append([cid, 1, cp])
    multi = sorted((c, u) for c, u in table.items() if len(u) > 1)
    out = bytearray(struct.pack(">I", len(runs)))
    for cid, n, cp in runs:
        out += struct.pack(">HB", cid, n - 1) + cp.to_bytes(3, "big")
    out += struct.pack(">I", len(multi))
    for cid, u in multi:
        out += struct.pack(">HB", cid, len(u)) + b"".join(struct.pack(">I", x) for x in u)
    return bytes(out), len(runs), len(multi)


def read_cid_cmap(cmap_dir, coll, name, seen=()):
    """Code (bytes) -> CID of a predefined CMap, its usecmap chain resolved."""
    path = os.path.join(cmap_dir, "Adobe-" + coll, name)
    toks = list(tokens(open(path, "rb").read()))
    out = {}
    i = 0
    mode = None
    while i < len(toks):
        t = toks[i]
        if t == b"usecmap" and name not in seen:
            out.update(read_cid_cmap(cmap_dir, coll, toks[i - 1][1:].decode(), seen + (name,)))
        if t in (b"begincidchar", b"begincidrange", b"beginnotdefrange", b"beginnotdefchar"):
            mode = t
        elif t.startswith(b"end"):
            mode = None
        elif mode == b"begincidchar" and t.startswith(b"<"):
            out[hexval(t)] = int(toks[i + 1])
            i += 1
        elif mode == b"begincidrange" and t.startswith(b"<"):
            lo, hi, cid = hexval(t), hexval(toks[i + 1]), int(toks[i + 2])
            a, b = int.from_bytes(lo, "big"), int.from_bytes(hi, "big")
            # Ranges vary in the last byte only.
            for k in range(a, b + 1):
                out[k.to_bytes(len(lo), "big")] = cid + (k - a)
            i += 2
        i += 1
    return out


def encode_cmap(cmap_dir, coll, name):
    """One CMap record of cmaps.bin, usecmap kept by name; (bytes, mapping count)."""
    toks = list(tokens(open(os.path.join(cmap_dir, "Adobe-" + coll, name), "rb").read()))
    parent, wmode, space, maps = "", 0, [], []
    mode = None
    i = 0
    while i < len(toks):
        t = toks[i]
        if t == b"usecmap":
            parent = toks[i - 1][1:].decode()
        elif t == b"/WMode":
            wmode = int(toks[i + 1])
        elif t in (b"begincodespacerange", b"begincidchar", b"begincidrange"):
            mode = t
        elif t.startswith(b"end"):
            mode = None
        elif mode == b"begincodespacerange" and t.startswith(b"<"):
            space.append((hexval(t), hexval(toks[i + 1])))
            i += 1
        elif mode == b"begincidchar" and t.startswith(b"<"):
            code = hexval(t)
            maps.append((len(code), int.from_bytes(code, "big"), 0, int(toks[i + 1])))
            i += 1
        elif mode == b"begincidrange" and t.startswith(b"<"):
            lo, hi, cid = hexval(t), hexval(toks[i + 1]), int(toks[i + 2])
            assert len(lo) == len(hi) and lo[:-1] == hi[:-1], (name, lo, hi)
            a, b = int.from_bytes(lo, "big"), int.from_bytes(hi, "big")
            maps.append((len(lo), a, b - a, cid))
            i += 2
        i += 1
    out = bytearray()
    for s in (name, parent):
        out += bytes([len(s)]) + s.encode()
    out += bytes([COLLECTIONS.index(coll), wmode, len(space)])
    for lo, hi in space:
        out += bytes([len(lo)]) + lo + hi
    merged = []
    for n, code, span, cid in maps:
        if merged:
            pn, pcode, pspan, pcid = merged[-1]
            if pn == n and pcode + pspan + 1 == code and pcid + pspan + 1 == cid \
                    and (code & 0xFF) != 0 and pspan + span + 1 < 256:
                merged[-1] = (pn, pcode, pspan + span + 1, pcid)
                continue
        merged.append((n, code, span, cid))
    maps = merged
    out += struct.pack(">I", len(maps))
    for n, code, span, cid in maps:
        out += bytes([n]) + code.to_bytes(n, "big") + struct.pack(">BH", span, cid)
    return bytes(out), len(maps)


def encode_cmaps(cmap_dir):
    records = []
    for coll, bases in BYTE_CMAPS.items():
        for base in bases:
            for wmode in "HV":
                records.append((coll, base + "-" + wmode if base else wmode))
        records += [(coll, n) for n in H_ONLY if os.path.exists(
            os.path.join(cmap_dir, "Adobe-" + coll, n))]
    out = bytearray(struct.pack(">H", len(records)))
    total = 0
    for coll, name in records:
        data, n = encode_cmap(cmap_dir, coll, name)
        out += data
        total += n
    return bytes(out), len(records), total


def legacy_report(cmap_dir, coll, table):
    for name, codec in LEGACY.get(coll, []):
        cmap = read_cid_cmap(cmap_dir, coll, name)
        same = differ = undecodable = unmapped = 0
        examples = []
        for code, cid in sorted(cmap.items()):
            want = table.get(cid)
            if want is None:
                unmapped += 1
                continue
            try:
                got = [ord(c) for c in code.decode(codec)]
            except UnicodeDecodeError:
                undecodable += 1
                continue
            if got == want:
                same += 1
            else:
                differ += 1
                if len(examples) < 6:
                    examples.append("%s->%s/%s" % (code.hex(), "".join(map(chr, want)),
                                                   "".join(map(chr, got))))
        print("  %-14s %-9s codes %6d  same %6d  differ %5d  codec-rejects %4d  no-unicode %4d  %s"
              % (name, codec, len(cmap), same, differ, undecodable, unmapped, " ".join(examples)))


def main():
    args = [a for a in sys.argv[1:] if a != "--check"]
    check = "--check" in sys.argv
    cmap_dir = args[0] if args else "/usr/share/poppler/cMap"
    for coll in COLLECTIONS:
        table = read_ucs2(os.path.join(cmap_dir, "Adobe-" + coll, "Adobe-%s-UCS2" % coll))
        data, nruns, nmulti = encode(table)
        path = os.path.join(HERE, coll + ".bin")
        print("%-7s CIDs %5d (max %5d)  runs %5d  sequences %4d  %6d bytes"
              % (coll, len(table), max(table), nruns, nmulti, len(data)))
        write_or_check(path, data, check)
        if check:
            gpl = os.path.join(os.path.dirname(cmap_dir.rstrip("/")), "cidToUnicode", "Adobe-" + coll)
            if os.path.exists(gpl):
                lines = open(gpl).read().split()
                agree = sum(1 for cid, u in enumerate(lines)
                            if cid in table and len(table[cid]) == 1 and table[cid][0] == int(u, 16))
                print("  poppler cidToUnicode: %d entries, %d agree" % (len(lines), agree))
            legacy_report(cmap_dir, coll, table)
    data, ncmaps, nmaps = encode_cmaps(cmap_dir)
    print("cmaps.bin: %d CMaps, %d mappings, %d bytes" % (ncmaps, nmaps, len(data)))
    write_or_check(os.path.join(HERE, "cmaps.bin"), data, check)


def write_or_check(path, data, check):
    if check:
        ok = os.path.exists(path) and open(path, "rb").read() == data
        print("  %s %s" % (path, "matches" if ok else "DIFFERS"))
    else:
        open(path, "wb").write(data)


if __name__ == "__main__":
    main()
