#!/usr/bin/env python3
# Regenerates RcloneCrossCheckData.cs from a real rclone (1.60.1 was used): python3 RcloneCrossCheck.py
# Needs rclone on PATH; writes a fixture tree under /tmp/rc. The tests themselves never run rclone.
import os, subprocess, shutil, json
GEN = "/tmp/rc/gen"
os.makedirs(GEN, exist_ok=True)
os.makedirs("/tmp/rc/empty", exist_ok=True)
TREE = "/tmp/rc/tree"
FILES = """notes.log
notes.txt
.DS_Store
Thumbs.db
a/Thumbs.db
a/node_modules/x.js
a/node_modules/deep/y.js
node_modules/z.js
src/build.txt
src/app.py
src/app.pyc
src/__pycache__/m.cpython.pyc
src/__pycache__/readme
build/x
build/sub/y.txt
lib/build
lib/dist.txt
dist/bundle.js
.git/config
.git/objects/ab/cdef
.venv/bin/python
.gitignore
docs/report.tmp
docs/draft.temp
docs/.file.swp
docs/Report.PDF
docs/report.pdf
docs/server.log.txt
desktop.ini
photos/file.jpg
photos/file.JPG
photos/file.jpeg
photos/file.jpeeg
photos/secret17.jpg
photos/file.png
photos/2024/x.jpg
file.jpg
file2.avi
dir/anyfile
dir/Trash/t.txt
subdir/dir/subsubdir/anyfile
subdir/file.png
file.txt
file.qxt
file.tzt
file.a
file.0
file.???
file.012
file.abc
a!b
axb
ayb
a/b
x/a/1.jpg
a/1.jpg
potato
POTATO
42.doc
movie [JP].mkv
movie [US].mkv
café/ünï.txt
emoji/😀.txt
emoji/ab.txt
.Spotlight-V100/store
.Trashes/501/x
wheat/ab.c
wheat/ab!c
wheat/abc.d
dir1/keep.pdf
dir2/sub/skip.pdf
top.pdf
deep/er/doc.pdf
"""
files = [l for l in FILES.splitlines() if l]
shutil.rmtree(TREE, ignore_errors=True)
for f in files:
    p = os.path.join(TREE, f)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "w").close()

IGNORE = """# System files
.DS_Store
.Spotlight-V100
.Trashes
Thumbs.db
desktop.ini

# Development
node_modules/
.git/
.venv/
__pycache__/
*.pyc
dist/
build/

# Temporary files
*.tmp
*.temp
*.swp
*.log
"""
FILTER_DOC = """# a sample filter rule file
- secret*.jpg
+ *.jpg
+ *.png
+ file2.avi
- /dir/Trash/**
+ /dir/**
# exclude everything else
- *
"""
FILTER_BANG = """+ *.jpg
+ *.gif
!
+ 42.doc
- *
"""
FILTER_DIRS = """- /dir1/
- /dir2/
+ *.pdf
- **
"""
FILTER_WS = """  # indented comment
; semicolon comment

   - *.jpg   
+ photos/**\r
-  *.txt
- **
"""
INCLUDE_FILE = """# a sample include rule file
*.jpg
file2.avi
"""
# each scenario: name, list of (kind, value)
S = [
 ("GuideIgnoreFile", [("exclude-from", IGNORE)]),
 ("IncludeJpg", [("include", "*.jpg")]),
 ("IncludeUnanchoredPathPrunesOtherDirs", [("include", "a/*.jpg")]),
 ("IncludeRootedTxt", [("include", "/*.txt")]),
 ("ExcludeDirDoubleStar", [("exclude", "dir/**")]),
 ("ExcludeRootedDir", [("exclude", "/dir/")]),
 ("FilterFromDocExample", [("filter-from", FILTER_DOC)]),
 ("FilterFromBangClears", [("include", "*.png"), ("filter-from", FILTER_BANG)]),
 ("FilterFromDirectoryRules", [("filter-from", FILTER_DIRS)]),
 ("FilterFromWhitespaceAndComments", [("filter-from", FILTER_WS)]),
 ("IncludeFromFile", [("include-from", INCLUDE_FILE)]),
 ("IncludeFromEmptyFile", [("include-from", "# nothing\n")]),
 ("IgnoreCasePotato", [("ignore-case", ""), ("include", "potato"), ("include", "*.pdf")]),
 ("CaseSensitivePotato", [("include", "potato"), ("include", "*.pdf")]),
 ("IncludesComeBeforeExcludes", [("exclude", "photos/**"), ("include", "*.jpg")]),
 ("ExcludeThenIncludeSameKind", [("exclude", "*.jpg"), ("exclude", "photos/**")]),
 ("FilterFlagsInOrder", [("filter", "- photos/2024/**"), ("filter", "+ *.jpg"), ("filter", "- *")]),
 ("FilterFlagsBeforeFilterFrom", [("filter-from", "- *\n"), ("filter", "+ *.png")]),
 ("BangClearsIncludesAndExcludes", [("exclude", "*.txt"), ("include", "*.jpg"), ("filter", "!"), ("filter", "- *.pdf")]),
 ("BracketBangIsLiteral", [("include", "a[!x]b")]),
 ("BracketCaretNegatesAndCrossesSlash", [("include", "a[^x]b")]),
 ("RegexpJpeg", [("exclude", "*.{{jpe?g}}")]),
 ("RootedRegexp", [("include", "/{{.*\\.jpe?g}}")]),
 ("AlternationDirs", [("include", "{a,src}/**")]),
 ("AlternationWithSlashNoPruning", [("include", "{a/**,src/**}")]),
 ("ExcludeDigitsClass", [("exclude", "*.\\d\\d\\d")]),
 ("EscapedQuestionMarks", [("include", "*.\\?\\?\\?")]),
 ("PunctClass", [("include", "wheat/??[^[:punct:]]*")]),
 ("EscapedBrackets", [("exclude", "*\\[{JP,KR,HK}\\]*")]),
 ("IncludeDirOnlyMatchesNothing", [("include", "node_modules/")]),
 ("ExcludeStar", [("filter", "+ *.txt"), ("filter", "- *")]),
 ("AnyCharTwoStars", [("include", "*.t?t")]),
 ("QuestionMatchesOneCodePoint", [("include", "emoji/?.txt")]),
 ("NonAscii", [("include", "café/*")]),
 ("IgnoreCaseNonAscii", [("ignore-case", ""), ("include", "CAFÉ/ÜNÏ.TXT")]),
 ("RangeClass", [("include", "*.[a-z]")]),
 ("PathWildcardAnyDepth", [("exclude", "**/anyfile")]),
 ("ExcludeDirectoryByName", [("exclude", "a/")]),
 ("RegexpCaseFlag", [("exclude", "*.{{(?i)JPG}}")]),
 ("NegatedPosixClass", [("include", "[[:^alpha:]]*")]),
 ("RegexpUnicodeLetters", [("include", "{{\\pL+}}.txt")]),
 ("RegexpOctalEscape", [("include", "{{\\120}}*")]),
 ("DigitClassInBrackets", [("include", "*.[\\d][\\d]*")]),
 ("TrailingBackslashMatchesDollar", [("exclude", "file\\")]),
 ("DoubleStarDirectoryRule", [("filter", "+ **/"), ("filter", "- photos/**"), ("filter", "+ **.jpg"), ("filter", "- **")]),
 ("IgnoreCaseExcludeDir", [("ignore-case", ""), ("exclude", "PHOTOS/"), ("exclude", "*.PDF")]),
]
out = []
for name, steps in S:
    args = []
    tmp = []
    for i, (k, v) in enumerate(steps):
        if k == "ignore-case":
            args.append("--ignore-case")
        elif k.endswith("-from"):
            p = f"{GEN}/{name}_{i}.txt"
            open(p, "w").write(v)
            args += ["--" + k, p]
        else:
            args += ["--" + k, v]
    env = dict(os.environ); env.pop("AWS_CA_BUNDLE", None)
    r = subprocess.run(["rclone", "lsf", "-R", "--files-only", TREE] + args, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(name + r.stderr)
    got = sorted(l for l in r.stdout.splitlines() if l)
    out.append({"name": name, "steps": steps, "expected": got})
json.dump({"files": files, "scenarios": out}, open(GEN + "/out.json", "w"), ensure_ascii=False, indent=1)
for o in out:
    print(o["name"], len(o["expected"]))

# rclone's own rule dump for each scenario
for o in out:
    args=[]
    for i,(k,v) in enumerate(o["steps"]):
        if k=="ignore-case": args.append("--ignore-case")
        elif k.endswith("-from"): args += ["--"+k, f"{GEN}/{o['name']}_{i}.txt"]
        else: args += ["--"+k, v]
    env = dict(os.environ); env.pop("AWS_CA_BUNDLE", None)
    r = subprocess.run(["rclone", "ls", "/tmp/rc/empty", "--dump", "filters"] + args, capture_output=True, text=True, env=env)
    txt = r.stdout
    a = txt.index("--- start filters ---\n") + len("--- start filters ---\n")
    b = txt.index("--- end filters ---")
    o["dump"] = txt[a:b].rstrip("\n") + "\n"
json.dump({"files": files, "scenarios": out}, open(GEN + "/out.json", "w"), ensure_ascii=False, indent=1)

os.makedirs("/tmp/rc/empty", exist_ok=True)
import json
d=json.load(open('/tmp/rc/gen/out.json'))
def cs(s):
    r='"'
    for ch in s:
        if ch=='\\': r+='\\\\'
        elif ch=='"': r+='\\"'
        elif ch=='\n': r+='\\n'
        elif ch=='\r': r+='\\r'
        else: r+=ch
    return r+'"'
L=["// Generated with rclone v1.60.1 (Debian 1.60.1+dfsg-2) on a local folder holding exactly Tree: Expected is",
"// `rclone lsf -R --files-only <folder> <flags>`, Dump is the rule list `rclone ls <empty> --dump filters <flags>`",
"// printed. Kept as data so that the tests do not need rclone.",
"namespace ChittyConnect.Tests.Filters;","","internal static class RcloneCrossCheckData","{",
"    public static readonly string[] Tree =","    ["]
for f in d['files']: L.append("        "+cs(f)+",")
L+=["    ];","",
"    // Kinds: include, exclude, filter, include-from, exclude-from, filter-from (Value = the file's content), ignore-case.",
"    public static readonly Scenario[] Scenarios =","    ["]
for s in d['scenarios']:
    L.append("        new("+cs(s['name'])+",")
    L.append("            ["+", ".join("("+cs(k)+", "+cs(v)+")" for k,v in s['steps'])+"],")
    L.append("            ["+", ".join(cs(e) for e in s['expected'])+"],")
    L.append("            "+cs(s['dump'])+"),")
L+=["    ];","",
"    public sealed record Scenario(string Name, (string Kind, string Value)[] Steps, string[] Expected, string Dump)",
"    {","        public override string ToString() => Name;","    }","}"]
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'RcloneCrossCheckData.cs'),'w').write("\n".join(L)+"\n")
