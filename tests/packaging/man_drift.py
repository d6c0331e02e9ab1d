#!/usr/bin/env python3
"""man_drift.py: the manual pages name everything the programs offer.

    man_drift.py --source DIR --man DIR --admin BIN --kdc BIN --agent BIN --kmp BIN

Fails (exit 1, one line per miss) when
  - a lethe-admin command, from its usage text or its command table
    (src/admin/main.c), has no `.It Cm NAME` in lethe-admin.8;
  - a lethe-kdc configuration key (the known_keys table of
    src/kdcd/config.c) has no `.It Cm KEY` under `.Ss [SECTION]` in
    kdc.conf.5;
  - an agent.conf key (known keys of src/agent/config.c) has no `.It Cm KEY`
    in agent.conf.5;
  - a lethe-kmp configuration key (known_keys of src/kmp/lethe_kmp.c) has no
    `.It Cm KEY` under `.Ss [SECTION]` in lethe-kmp.8;
  - an option in a program's usage text (-x, --long) has no `Fl x` /
    `Fl -long` on an `.It` line of its page.
"""
import argparse
import re
import subprocess
import sys

OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")


def usage_text(binary, args):
    """What BINARY prints for ARGS (the usage text goes to stderr)."""
    r = subprocess.run([binary] + args, capture_output=True, text=True, timeout=60)
    text = r.stdout + r.stderr
    if "usage:" not in text:
        sys.exit("%s %s printed no usage text:\n%s" % (binary, " ".join(args), text))
    return text


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def items(page):
    """The words after `.It Cm` (and after each `| Cm` on such a line)."""
    names = set()
    for line in page.splitlines():
        if line.startswith(".It "):
            for run in re.findall(r"\bCm ([\w.-]+(?: , [\w.-]+)*)", line):
                names.update(run.split(" , "))
    return names


def flags(page):
    """Every `Fl x` on an `.It` line (an option described in a list), as -x."""
    found = set()
    for line in page.splitlines():
        if line.startswith(".It "):
            found.update("-" + f for f in re.findall(r"\bFl (-?[\w-]+)", line))
    return found


def admin_commands(usage, main_c):
    """Commands named by lethe-admin's usage text and its command table."""
    names = set(re.findall(r'\{ "([a-z][a-z0-9-]*)", cmd_\w+ \}', main_c))
    body = usage.split("commands:", 1)[1] if "commands:" in usage else ""
    for line in body.splitlines():
        if not re.match(r"  [a-z]", line):
            continue
        for segment in line.split("|"):
            words = segment.split()
            if words and re.fullmatch(r"[a-z][a-z0-9-]*", words[0]):
                names.add(words[0])
    return names


def section_keys(config_c):
    """(section, key) pairs of the known_keys[] table of a C file."""
    table = config_c.split("known_keys[]", 1)[1].split("};", 1)[0]
    return re.findall(r'\{ "(\w+)", "(\w+)" \}', table)


def agent_keys(config_c):
    return re.findall(r'\{ "", "(\w+)" \}', config_c)


def section_items(page, section):
    """`.It Cm` names between `.Ss [section]` and the next .Ss or .Sh."""
    m = re.search(r"^\.Ss \[%s\]\n(.*?)(?=^\.S[sh] )" % re.escape(section), page,
                  re.S | re.M)
    return items(m.group(1)) if m else set()


def main():
    ap = argparse.ArgumentParser()
    for opt in ("source", "man", "admin", "kdc", "agent", "kmp"):
        ap.add_argument("--" + opt, required=True)
    a = ap.parse_args()
    src, man = a.source, a.man
    misses = []

    admin_page = read(man + "/lethe-admin.8")
    admin_usage = usage_text(a.admin, ["--help"])
    commands = admin_commands(admin_usage, read(src + "/src/admin/main.c"))
    if len(commands) < 10:
        sys.exit("found only %d lethe-admin commands: the parser is broken" % len(commands))
    for c in sorted(commands - items(admin_page)):
        misses.append("lethe-admin.8: command %s has no .It Cm %s" % (c, c))

    for page_name, c_file in (("kdc.conf.5", "src/kdcd/config.c"),
                              ("lethe-kmp.8", "src/kmp/lethe_kmp.c")):
        page = read(man + "/" + page_name)
        keys = section_keys(read(src + "/" + c_file))
        if len(keys) < 10:
            sys.exit("found only %d keys in %s: the parser is broken" % (len(keys), c_file))
        for section, key in keys:
            if key not in section_items(page, section):
                misses.append("%s: [%s] %s has no .It Cm %s under .Ss [%s]"
                              % (page_name, section, key, key, section))

    agent_page = read(man + "/agent.conf.5")
    keys = agent_keys(read(src + "/src/agent/config.c"))
    if len(keys) < 10:
        sys.exit("found only %d agent.conf keys: the parser is broken" % len(keys))
    for key in keys:
        if key not in items(agent_page):
            misses.append("agent.conf.5: %s has no .It Cm %s" % (key, key))

    usages = {
        "lethe-admin.8": admin_usage,
        "lethe-kdc.8": usage_text(a.kdc, ["-h"]),
        "lethe-agent.8": usage_text(a.agent, ["--help"]),
        "lethe-kmp.8": usage_text(a.kmp, []),
    }
    for page_name, usage in usages.items():
        have = flags(read(man + "/" + page_name))
        for opt in sorted(set(OPTION.findall(usage)) - have):
            misses.append("%s: option %s (in the usage text) has no .It ... Fl %s"
                          % (page_name, opt, opt[1:]))

    for m in misses:
        print(m)
    if misses:
        return 1
    print("man_drift: every command, key and option is in its page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
