#!/usr/bin/env python3
"""Checks layer/template.yaml for what cfn-lint cannot see.

cfn-lint (1.x) validates SAM resources against their schema without expanding them, so it does
not know that a function has gavel attached, nor what its role may do. This script reads the
template (CloudFormation short tags included) and checks:

* layers: one per architecture (x86_64, arm64), each from make layer's dist/gavel-layer-<arch>.zip;
* attachment: every function with a gavel layer gets the layer of its own architecture for every
  value of the Architecture parameter; managed runtimes set AWS_LAMBDA_EXEC_WRAPPER=/opt/gavel/wrapper,
  provided.* runtimes set GAVEL_FUNCTION_BOOTSTRAP (not /var/task/bootstrap, which is the
  hand-over script layer/examples/rust/bootstrap itself); both kinds are present;
* least privilege: no Allow statement with Resource "*" or Action "*"/"<service>:*"; a statement
  granting sns:Publish or sqs:SendMessage names its resource without wildcards; every function's
  policies are explicit statements or ManagedPolicy resources of this template (SAM policy templates,
  AWS managed policies and SAM SQS/stream event sources hide broad grants from this check);
* destinations: each GAVEL_DESTINATION_* that names a queue or topic of this template is covered by
  a statement of that function granting what README's IAM section lists for it;
* SQS event source mappings: ReportBatchItemFailures, a dead-letter queue on the source, a
  visibility timeout no shorter than the function's timeout, and receive permission for the function;
* runtimes: known to cfn-lint and not deprecated today;
* the SAM transform (aws-sam-translator, the code CloudFormation runs for it) accepts the template,
  and cfn-lint passes on its output: rules such as runtime names or a queue's visibility timeout
  against its consumer's timeout only look at plain CloudFormation resources.

Usage: check-template.py [--no-transform] [TEMPLATE]   (default: layer/template.yaml; --no-transform
skips the last check, the slow one). Exit 1 lists every problem.
"""
import copy
import datetime
import json
import os
import re
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIM_HANDOVER = os.path.join(REPO, "layer/examples/rust/bootstrap")
WRAPPER = "/opt/gavel/wrapper"
# What a function needs per destination type (README, "IAM permissions").
NEEDS = {"AWS::SQS::Queue": {"sqs:SendMessage", "sqs:GetQueueUrl"}, "AWS::SNS::Topic": {"sns:Publish"}}
SERVERLESS_FN = "AWS::Serverless::Function"
LAYER_TYPES = {"AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"}


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms: !Ref x → {"Ref": x}, !GetAtt a.b → {"Fn::GetAtt": [a, b]}."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}


CfnLoader.add_multi_constructor("!", _tag)


class Template:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.t = yaml.load(f, Loader=CfnLoader)
        self.resources = self.t.get("Resources", {})
        self.params = self.t.get("Parameters", {})
        self.conditions = self.t.get("Conditions", {})
        self.globals = self.t.get("Globals", {}).get("Function", {})
        self.problems = []

    def problem(self, where, what):
        self.problems.append(f"{where}: {what}")

    def of_type(self, *types):
        return {k: r for k, r in self.resources.items() if r.get("Type") in types}

    def fn_prop(self, fn, name, default=None):
        props = self.resources[fn].get("Properties", {})
        if name in props:
            return props[name]
        if self.resources[fn]["Type"] == SERVERLESS_FN:
            return self.globals.get(name, default)
        return default

    # -- a small evaluator for parameters and conditions (enough for this template's intrinsics)
    def value(self, x, params):
        if isinstance(x, dict) and len(x) == 1:
            (k, v), = x.items()
            if k == "Ref" and v in self.params:
                raw = params.get(v, self.params[v].get("Default", ""))
                is_list = self.params[v].get("Type") == "CommaDelimitedList"
                return raw.split(",") if is_list and isinstance(raw, str) else raw
            if k == "Fn::Join":
                parts = self.value(v[1], params)
                return v[0].join(str(self.value(p, params)) for p in parts) if isinstance(parts, list) else parts
            if k == "Fn::Split":
                return str(self.value(v[1], params)).split(v[0])
            if k == "Fn::Select":
                return self.value(v[1], params)[int(v[0])]
            if k == "Fn::Sub" and isinstance(v, str):
                out = v
                for name in self.params:
                    out = out.replace("${%s}" % name, str(self.value({"Ref": name}, params)))
                return out
            if k == "Fn::If":
                return self.value(v[1] if self.condition(v[0], params) else v[2], params)
        if isinstance(x, list):
            return [self.value(i, params) for i in x]
        return x

    def condition(self, name_or_expr, params):
        x = self.conditions[name_or_expr] if isinstance(name_or_expr, str) else name_or_expr
        (k, v), = x.items()
        if k == "Fn::Equals":
            a, b = (self.value(i, params) for i in v)
            return a == b
        if k == "Fn::Not":
            return not self.condition(v[0], params)
        if k == "Fn::And":
            return all(self.condition(i, params) for i in v)
        if k == "Fn::Or":
            return any(self.condition(i, params) for i in v)
        if k == "Condition":
            return self.condition(v, params)
        raise ValueError(f"unsupported condition {x}")


def refs(x):
    """Every resource or parameter a value names through Ref or GetAtt, in every Fn::If branch."""
    if isinstance(x, dict):
        if "Ref" in x and isinstance(x["Ref"], str):
            return {x["Ref"]}
        if "Fn::GetAtt" in x:
            return {x["Fn::GetAtt"][0]}
        out = set()
        for k, v in x.items():
            out |= refs(v[1:] if k == "Fn::If" else v)
        return out
    if isinstance(x, list):
        return set().union(*map(refs, x)) if x else set()
    return set()


def statements(doc):
    """Statements of a policy document, each Fn::If branch included (AWS::NoValue skipped)."""
    raw = doc.get("Statement", []) if isinstance(doc, dict) else []
    raw = raw if isinstance(raw, list) else [raw]
    out = []
    for s in raw:
        if isinstance(s, dict) and "Fn::If" in s:
            out += statements({"Statement": [b for b in s["Fn::If"][1:] if b != {"Ref": "AWS::NoValue"}]})
        elif isinstance(s, dict):
            out.append(s)
    return out


def as_list(x):
    return x if isinstance(x, list) else [x]


def literal(x):
    """The literal text of a string or Fn::Sub template (placeholders removed), else None."""
    if isinstance(x, dict) and "Fn::Sub" in x:
        x = as_list(x["Fn::Sub"])[0]
        return re.sub(r"\$\{[^}]*\}", "", x) if isinstance(x, str) else None
    return x if isinstance(x, str) else None


def action_matches(granted, wanted):
    g, w = granted.lower(), wanted.lower()
    return g == w or g == "*" or (g.endswith("*") and w.startswith(g[:-1]))


def check_layers(t):
    layers = t.of_type(*LAYER_TYPES)
    by_arch = {}
    for name, r in layers.items():
        props = r.get("Properties", {})
        archs = props.get("CompatibleArchitectures", [])
        if len(archs) != 1:
            t.problem(name, f"CompatibleArchitectures must name one architecture, got {archs}")
            continue
        arch = archs[0]
        by_arch.setdefault(arch, []).append(name)
        uri = props.get("ContentUri", props.get("Content"))
        if uri != f"../dist/gavel-layer-{arch}.zip":
            t.problem(name, f"ContentUri {uri!r} is not make layer's ../dist/gavel-layer-{arch}.zip")
        if not props.get("LicenseInfo"):
            t.problem(name, "no LicenseInfo")
    for arch in ("x86_64", "arm64"):
        if len(by_arch.get(arch, [])) != 1:
            t.problem("layers", f"expected one gavel layer for {arch}, found {by_arch.get(arch, [])}")
    return {name: r["Properties"]["CompatibleArchitectures"][0] for name, r in layers.items()
            if len(r.get("Properties", {}).get("CompatibleArchitectures", [])) == 1}


def check_attachment(t, layer_arch):
    arch_param = t.params.get("Architecture", {})
    arch_values = arch_param.get("AllowedValues", [None])
    attached = {}
    for fn in t.of_type(SERVERLESS_FN, "AWS::Lambda::Function"):
        layers = t.fn_prop(fn, "Layers", [])
        gavel = refs(layers) & set(layer_arch)
        if not gavel:
            continue
        runtime = t.fn_prop(fn, "Runtime", "")
        attached[fn] = runtime
        for arch in arch_values:
            params = {"Architecture": arch} if arch else {}
            fn_archs = t.value(t.fn_prop(fn, "Architectures", ["x86_64"]), params)
            got = [l for l in t.value(layers, params) if isinstance(l, dict) and l.get("Ref") in layer_arch]
            got_archs = sorted({layer_arch[l["Ref"]] for l in got})
            if len(got) != 1 or got_archs != fn_archs:
                t.problem(fn, f"with Architecture={arch} the function is {fn_archs} but gets gavel layers {got_archs}")
        env = t.fn_prop(fn, "Environment", {}).get("Variables", {})
        if runtime.startswith("provided"):
            if "AWS_LAMBDA_EXEC_WRAPPER" in env:
                t.problem(fn, f"{runtime} ignores AWS_LAMBDA_EXEC_WRAPPER; use the bootstrap shim")
            target = env.get("GAVEL_FUNCTION_BOOTSTRAP")
            if not isinstance(target, str) or not target.startswith("/"):
                t.problem(fn, f"GAVEL_FUNCTION_BOOTSTRAP must be the absolute path of the function's binary, got {target!r}")
            elif target in ("/var/task/bootstrap", "/opt/gavel/bootstrap"):
                t.problem(fn, f"GAVEL_FUNCTION_BOOTSTRAP={target} is what Lambda runs (the hand-over script) or the shim itself: it would loop")
        elif env.get("AWS_LAMBDA_EXEC_WRAPPER") != WRAPPER:
            t.problem(fn, f"{runtime}: AWS_LAMBDA_EXEC_WRAPPER must be {WRAPPER}, got {env.get('AWS_LAMBDA_EXEC_WRAPPER')!r}")
    if not any(r.startswith("provided") for r in attached.values()):
        t.problem("functions", "no provided.* function with gavel attached")
    if not any(r and not r.startswith("provided") for r in attached.values()):
        t.problem("functions", "no managed-runtime function with gavel attached")
    if any(r.startswith("provided") for r in attached.values()):
        try:
            with open(SHIM_HANDOVER, encoding="utf-8") as f:
                script = f.read()
        except OSError as e:
            t.problem("layer/examples/rust/bootstrap", str(e))
        else:
            if not os.access(SHIM_HANDOVER, os.X_OK):
                t.problem("layer/examples/rust/bootstrap", "not executable")
            if 'exec /opt/gavel/bootstrap "$@"' not in script:
                t.problem("layer/examples/rust/bootstrap", "does not exec /opt/gavel/bootstrap")
    return attached


def function_statements(t, fn):
    """(source, statement) for every statement a function's role gets; problems for what cannot be seen."""
    out = []
    for i, p in enumerate(as_list(t.fn_prop(fn, "Policies", []) or [])):
        where = f"{fn}.Policies[{i}]"
        if isinstance(p, dict) and "Statement" in p:
            out += [(where, s) for s in statements(p)]
        elif isinstance(p, dict) and set(p) == {"Ref"} and t.resources.get(p["Ref"], {}).get("Type") == "AWS::IAM::ManagedPolicy":
            doc = t.resources[p["Ref"]]["Properties"]["PolicyDocument"]
            out += [(p["Ref"], s) for s in statements(doc)]
        else:
            t.problem(where, f"{json.dumps(p)}: use explicit statements or a ManagedPolicy of this template (this check cannot see inside SAM policy templates or AWS managed policies)")
    for name, ev in (t.resources[fn].get("Properties", {}).get("Events") or {}).items():
        if ev.get("Type") in ("SQS", "Kinesis", "DynamoDB", "MQ", "MSK", "SelfManagedKafka", "DocumentDB"):
            t.problem(f"{fn}.Events.{name}", f"SAM attaches an AWS managed policy with Resource \"*\" for {ev['Type']} sources; use an AWS::Lambda::EventSourceMapping and explicit statements")
    return out


def check_statements(t):
    docs = []
    for name, r in t.resources.items():
        props = r.get("Properties", {})
        if r["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            docs += [(name, s) for s in statements(props.get("PolicyDocument", {}))]
        elif r["Type"] == "AWS::IAM::Role":
            for p in props.get("Policies", []):
                docs += [(name, s) for s in statements(p.get("PolicyDocument", {}))]
            if props.get("ManagedPolicyArns"):
                t.problem(name, "ManagedPolicyArns: this check cannot see inside managed policies")
        elif r["Type"] == SERVERLESS_FN:
            docs += [(w, s) for w, s in function_statements(t, name) if w.startswith(name)]
    for where, s in docs:
        if s.get("Effect") != "Allow":
            continue
        sid = f"{where} ({s.get('Sid', 'no Sid')})"
        actions = [a for a in as_list(s.get("Action", [])) if isinstance(a, str)]
        resources = as_list(s.get("Resource", []))
        if "NotResource" in s or "NotAction" in s:
            t.problem(sid, "NotResource/NotAction in an Allow grants everything else")
        if "*" in map(literal, resources):
            t.problem(sid, f"Allow with Resource \"*\" ({', '.join(actions)})")
        for a in actions:
            if a == "*" or a.endswith(":*"):
                t.problem(sid, f"Allow with Action {a!r}")
        delivery = [w for w in ("sns:Publish", "sqs:SendMessage") if any(action_matches(a, w) for a in actions)]
        if delivery:
            for r in map(literal, resources):
                if r is not None and "*" in r:
                    t.problem(sid, f"{'/'.join(delivery)} on a wildcard resource {r!r}")
    return docs


def check_destinations(t, attached):
    for fn in attached:
        env = t.fn_prop(fn, "Environment", {}).get("Variables", {})
        grants = function_statements(t, fn)
        for var, value in env.items():
            if not var.startswith("GAVEL_DESTINATION_"):
                continue
            for dest in refs(value):
                rtype = t.resources.get(dest, {}).get("Type")
                if rtype not in NEEDS:
                    continue
                for action in sorted(NEEDS[rtype]):
                    ok = any(s.get("Effect") == "Allow" and dest in refs(s.get("Resource"))
                             and any(action_matches(a, action) for a in as_list(s.get("Action", [])))
                             for _, s in grants)
                    if not ok:
                        t.problem(fn, f"{var} sends to {dest} but no statement allows {action} on it")


def check_event_sources(t):
    for name, r in t.of_type("AWS::Lambda::EventSourceMapping").items():
        props = r.get("Properties", {})
        queues = [q for q in refs(props.get("EventSourceArn")) if t.resources.get(q, {}).get("Type") == "AWS::SQS::Queue"]
        fns = [f for f in refs(props.get("FunctionName")) if f in t.resources]
        if not queues or not fns:
            continue
        queue, fn = queues[0], fns[0]
        qprops = t.resources[queue].get("Properties", {})
        if "ReportBatchItemFailures" not in props.get("FunctionResponseTypes", []):
            t.problem(name, "no ReportBatchItemFailures: one bad record would redeliver the whole batch")
        if "RedrivePolicy" not in qprops:
            t.problem(queue, "no RedrivePolicy (dead-letter queue) for a queue a function consumes")
        timeout = t.fn_prop(fn, "Timeout", 3)
        if qprops.get("VisibilityTimeout", 30) < timeout:
            t.problem(queue, f"VisibilityTimeout {qprops.get('VisibilityTimeout', 30)} s is shorter than {fn}'s timeout {timeout} s")
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
            if not any(s.get("Effect") == "Allow" and queue in refs(s.get("Resource"))
                       and any(action_matches(a, action) for a in as_list(s.get("Action", [])))
                       for _, s in function_statements(t, fn)):
                t.problem(fn, f"consumes {queue} but no statement allows {action} on it")


def check_runtimes(t):
    try:
        import cfnlint
        path = os.path.join(os.path.dirname(cfnlint.__file__), "data/AdditionalSpecs/LmbdRuntimeLifecycle.json")
        with open(path, encoding="utf-8") as f:
            lifecycle = json.load(f)
    except (ImportError, OSError) as e:
        t.problem("runtimes", f"cannot read cfn-lint's runtime lifecycle data: {e}")
        return
    today = datetime.date.today().isoformat()
    used = [(fn, t.fn_prop(fn, "Runtime")) for fn in t.of_type(SERVERLESS_FN, "AWS::Lambda::Function")]
    for name, r in t.of_type(*LAYER_TYPES).items():
        used += [(name, rt) for rt in r.get("Properties", {}).get("CompatibleRuntimes", [])]
    for where, rt in used:
        info = lifecycle.get(rt)
        if info is None:
            t.problem(where, f"unknown runtime {rt!r}")
        elif (info.get("deprecated") or "9999") <= today:
            t.problem(where, f"runtime {rt} is deprecated since {info['deprecated']} (successor {info.get('successor')})")


def check_transformed(t):
    try:
        import boto3
        from cfnlint.api import lint
        from samtranslator.parser import parser
        from samtranslator.public.exceptions import InvalidDocumentException
        from samtranslator.translator.translator import Translator
    except ImportError as e:
        t.problem("SAM transform", f"{e}: run tests/setup-venv.sh (make test does)")
        return
    sam = copy.deepcopy(t.t)
    # `sam deploy` uploads local paths and puts S3 locations in their place; so does this.
    for r in sam.get("Resources", {}).values():
        props = r.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = "s3://gavel-check/" + os.path.normpath(props[key]).lstrip("./")
    basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    try:
        out = Translator(None, parser.Parser(), boto_session=boto3.session.Session(region_name="us-east-1")).translate(
            sam, parameter_values={}, get_managed_policy_map=lambda: {"AWSLambdaBasicExecutionRole": basic})
    except InvalidDocumentException as e:
        for cause in e.causes:
            t.problem("SAM transform", str(cause))
        return
    # Errors and warnings, as the cfn-lint command reports by default (not informational I rules).
    for m in lint(json.dumps(out), regions=["us-east-1"]):
        if m.rule.id[0] not in "EW":
            continue
        t.problem("SAM transform, then cfn-lint", f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})")


def main():
    args = sys.argv[1:]
    transform = "--no-transform" not in args
    args = [a for a in args if a != "--no-transform"]
    path = args[0] if args else os.path.join(REPO, "layer/template.yaml")
    t = Template(path)
    layer_arch = check_layers(t)
    attached = check_attachment(t, layer_arch)
    docs = check_statements(t)
    check_destinations(t, attached)
    check_event_sources(t)
    check_runtimes(t)
    if transform:
        check_transformed(t)
    if t.problems:
        print(f"{path}: {len(t.problems)} problem(s)")
        for p in dict.fromkeys(t.problems):
            print(f"  {p}")
        return 1
    print(f"{path}: ok ({len(layer_arch)} layers; gavel attached to {', '.join(sorted(attached))}; "
          f"{len(docs)} IAM statements checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
