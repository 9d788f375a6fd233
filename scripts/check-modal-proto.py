#!/usr/bin/env python3
"""Checks sandboxql's hand-written Modal protos (proto/modal_api.proto and
proto/task_command_router.proto) against the compiled descriptors of Modal's official
client, `modal_proto` from the installed `modal` wheel (newer than the .proto files on
GitHub): every message, field (name, number, type, label, proto3 `optional`), enum value
and rpc (types and streaming) the backend declares must be there as declared.

Usage: python scripts/check-modal-proto.py   (with `modal` and `grpcio-tools` installed;
scripts/install-test-deps.sh makes such a venv). Prints the mismatches, then a count;
exits 1 when there is any.
"""
import pathlib, subprocess, sys, tempfile

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor_pb2 import FieldDescriptorProto as Field
import modal
from modal_proto import api_pb2, task_command_router_pb2

ROOT = pathlib.Path(__file__).resolve().parent.parent
OURS = ["modal_api.proto", "task_command_router.proto"]


def compiled_ours():
    with tempfile.TemporaryDirectory() as d:
        out = pathlib.Path(d) / "ours.pb"
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'proto'}", f"--descriptor_set_out={out}", *OURS], check=True)
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file


def official():
    files = []
    for module in (api_pb2, task_command_router_pb2):
        fdp = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(fdp)
        files.append(fdp)
    return files


def index(files):
    """Full names (.package.Outer.Inner) of every message, enum and service."""
    messages, enums, services = {}, {}, {}
    for fdp in files:
        pending = [("." + fdp.package + ".", m) for m in fdp.message_type]
        enums.update({"." + fdp.package + "." + e.name: e for e in fdp.enum_type})
        while pending:
            prefix, m = pending.pop()
            messages[prefix + m.name] = m
            enums.update({prefix + m.name + "." + e.name: e for e in m.enum_type})
            pending.extend((prefix + m.name + ".", n) for n in m.nested_type)
        services.update({"." + fdp.package + "." + s.name: s for s in fdp.service})
    return messages, enums, services


def compare(ours, theirs):
    (om, oe, os_), (tm, te, ts) = index(ours), index(theirs)
    problems = []
    for name, m in om.items():
        t = tm.get(name)
        if t is None:
            problems.append(f"message {name}: not in the official client")
            continue
        fields = {f.name: f for f in t.field}
        for f in m.field:
            g = fields.get(f.name)
            if g is None:
                problems.append(f"{name}.{f.name}: no such field")
                continue
            ours_t = (f.number, Field.Type.Name(f.type), f.type_name, f.label, f.proto3_optional)
            theirs_t = (g.number, Field.Type.Name(g.type), g.type_name, g.label, g.proto3_optional)
            if ours_t != theirs_t:
                problems.append(f"{name}.{f.name}: (number, type, type name, label, optional) {ours_t} != official {theirs_t}")
    for name, e in oe.items():
        t = te.get(name)
        if t is None:
            problems.append(f"enum {name}: not in the official client")
            continue
        values = {v.name: v.number for v in t.value}
        problems += [f"{name}.{v.name} = {v.number} != official {values.get(v.name)}" for v in e.value if values.get(v.name) != v.number]
    for name, s in os_.items():
        t = ts.get(name)
        methods = {x.name: x for x in t.method} if t else {}
        for x in s.method:
            y = methods.get(x.name)
            shape = lambda r: (r.input_type, r.output_type, r.client_streaming, r.server_streaming)
            if y is None:
                problems.append(f"rpc {name}/{x.name}: not in the official client")
            elif shape(x) != shape(y):
                problems.append(f"rpc {name}/{x.name}: {shape(x)} != official {shape(y)}")
    return problems


if __name__ == "__main__":
    problems = compare(compiled_ours(), official())
    print("\n".join(problems))
    print(f"{len(problems)} mismatches against modal {modal.__version__}")
    sys.exit(1 if problems else 0)
