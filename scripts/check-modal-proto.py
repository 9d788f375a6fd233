#!/usr/bin/env python3
"""Checks sandboxql's hand-written Modal protos against the official ones: every message,
enum, field (name, number, type, label), enum value and rpc (streaming both ways) in
proto/modal_api.proto and proto/task_command_router.proto must be in modal-labs/modal-client's
modal_proto/api.proto and task_command_router.proto as written.

Usage: scripts/check-modal-proto.py OFFICIAL_API_PROTO OFFICIAL_ROUTER_PROTO
(e.g. from `git show 69519aef:modal_proto/api.proto` in a modal-client clone).
"""
import re, sys
def parse(text):
    out={}; rpcs={}; stack=[]
    text=re.sub(r'/\*.*?\*/','',text,flags=re.S)
    for raw in text.split('\n'):
        line=raw.split('//')[0].strip()
        if not line: continue
        m=re.match(r'(message|enum|service|oneof)\s+(\w+)\s*\{\s*(\})?',line)
        if m:
            kind,name,closed=m.groups()
            if kind=='oneof':
                stack.append(('oneof',name)); continue
            q='.'.join([n for k,n in stack if k!='oneof']+[name])
            out.setdefault(q,{})
            if not closed: stack.append((kind,name))
            continue
        if line.startswith('}'):
            if stack: stack.pop()
            continue
        cur='.'.join([n for k,n in stack if k!='oneof'])
        m=re.match(r'rpc\s+(\w+)\s*\(\s*(stream\s+)?([\w.]+)\s*\)\s*returns\s*\(\s*(stream\s+)?([\w.]+)\s*\)',line)
        if m:
            rpcs[m.group(1)]=(bool(m.group(2)),m.group(3).split('.')[-1],bool(m.group(4)),m.group(5).split('.')[-1]); continue
        m=re.match(r'(?:(optional|repeated)\s+)?(map\s*<[^>]+>|[\w.]+)\s+(\w+)\s*=\s*(\d+)',line)
        if m and stack and stack[-1][0] in ('message','oneof'):
            lab,typ,name,num=m.groups()
            out[cur][name]=(int(num),typ.split('.')[-1].replace(' ',''),lab or '')
            continue
        m=re.match(r'(\w+)\s*=\s*(-?\d+)',line)
        if m and stack and stack[-1][0]=='enum':
            out[cur][m.group(1)]=(int(m.group(2)),'enum','')
    return out,rpcs
bad=0
import os
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'proto')
for mine,off in [(os.path.join(root, 'modal_api.proto'), sys.argv[1]), (os.path.join(root, 'task_command_router.proto'), sys.argv[2])]:
    a,ar=parse(open(mine).read()); b,br=parse(open(off).read())
    nf=0
    for msg,fields in a.items():
        if msg not in b:
            print('MISSING MESSAGE',msg); bad+=1; continue
        for f,v in fields.items():
            nf+=1
            if f not in b[msg]: print('MISSING FIELD',msg,f); bad+=1
            elif b[msg][f]!=v: print('DIFF',msg,f,'mine',v,'official',b[msg][f]); bad+=1
    for r,v in ar.items():
        if r not in br: print('MISSING RPC',r); bad+=1
        elif br[r]!=v: print('RPC DIFF',r,v,br[r]); bad+=1
    print(mine.split('/')[-1]+':', len(a),'messages/enums,', nf,'fields/values,', len(ar),'rpcs')
print('mismatches:',bad)
sys.exit(1 if bad else 0)
