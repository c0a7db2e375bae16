#!/usr/bin/env python3
"""Generates src/web/admin_ui/policy_help.rs from the doc comments of the TenantPolicy structs
(src/domain/): python3 scripts/policy_help.py > src/web/admin_ui/policy_help.rs"""
import re,glob,json
src={}
for f in glob.glob('src/domain/**/*.rs',recursive=True):
    src[f]=open(f).read()
structs={}
for f,s in src.items():
    for m in re.finditer(r'((?:\s*(?:///[^\n]*|#\[[^\n]*\])\n)*)\s*pub struct (\w+)\s*\{(.*?)\n\}',s,re.S):
        name=m.group(2); body=m.group(3)
        fields=[]
        doc=[];attrs=[]
        for line in body.split('\n'):
            l=line.strip()
            if l.startswith('///'): doc.append(l[3:].strip()); continue
            if l.startswith('#['): attrs.append(l); continue
            fm=re.match(r'pub (\w+):\s*(.+?),?$',l)
            if fm:
                fields.append((fm.group(1),fm.group(2).rstrip(','),' '.join(doc),attrs))
                doc=[];attrs=[]
            elif l and not l.startswith('//'):
                doc=[];attrs=[]
        structs.setdefault(name,(f,fields,m.group(1)))
out={}
def walk(prefix,name):
    if name not in structs: return False
    f,fields,_=structs[name]
    for fname,ty,doc,attrs in fields:
        if any('skip' in a for a in attrs): continue
        key=prefix+fname
        ren=[re.search(r'rename = "(\w+)"',a) for a in attrs]
        t=re.sub(r'^(super::)*(\w+::)*','',ty)
        inner=re.match(r'Option<(.+)>',t)
        base=t
        if base in structs and base not in ('String',):
            walk(key+'.',base)
        else:
            out[key]=(doc,ty)
walk('', 'TenantPolicy')

WIDTH = 62  # the widest tuple rustfmt keeps on one line in this table


def rust(text):
    return text.replace('`', '').replace('\\', '\\\\').replace('"', '\\"')

lines = [
    "//! The policy form's help line of each field, keyed by its dotted path: generated from the doc",
    "//! comments of the `TenantPolicy` structs in `src/domain/` by `scripts/policy_help.py` (run",
    "//! `python3 scripts/policy_help.py > src/web/admin_ui/policy_help.rs` after changing them). A",
    "//! unit test checks that every field of the policy has its line.",
    "",
    "/// (dotted path, help) for every leaf of the serialized `TenantPolicy`.",
    "pub const HELP: &[(&str, &str)] = &[",
]
for k, (d, t) in out.items():
    one = f'    ("{k}", "{rust(d)}"),'
    # As rustfmt writes it: on one line when the tuple fits its width.
    lines.append(one if len(one.strip()[:-1]) <= WIDTH else f'    (\n        "{k}",\n        "{rust(d)}",\n    ),')
lines += [
    "];",
    "",
    "/// The help line of the field at `key`, if it has one.",
    "pub fn of(key: &str) -> Option<&'static str> {",
    "    HELP.iter().find(|(k, _)| *k == key).map(|(_, h)| *h)",
    "}",
]
print("\n".join(lines))
