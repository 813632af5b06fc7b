import sys, glob, os
refs = {}
for f in glob.glob("data/demo/test/*/*/*.trans.txt"):
    for line in open(f):
        k, t = line.rstrip("\n").split(" ", 1); refs[k] = t.lower().split()
def ed(a, b):
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        p, d[0] = d[0], i
        for j, y in enumerate(b, 1):
            p, d[j] = d[j], min(d[j] + 1, d[j-1] + 1, p + (x != y))
    return d[-1]
for path in sys.argv[1:]:
    e = n = 0
    for line in open(path):
        f, hyp = (line.rstrip("\n").split("\t") + [""])[:2]
        k = os.path.basename(f).rsplit(".", 1)[0]
        r = refs[k]; e += ed(r, hyp.lower().split()); n += len(r)
    print(f"{path}: WER {100*e/n:.2f}% ({e}/{n})")
