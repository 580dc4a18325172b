#!/usr/bin/env bash
# mk quickstart: the main job end to end on the embedded default (a local OCI image layout,
# no server): commit data with plain git, push, clone elsewhere, restore, go back in time.
# Every check (cmp, diff, [ ... ]) stops the script when it fails: CI runs it as a test.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mk-quickstart.XXXXXX")
mkdir -p "$work/bin" && ln -s "$here/bin/mk.js" "$work/bin/mk"
export PATH="$work/bin:$PATH"
export GIT_AUTHOR_NAME=Alice GIT_AUTHOR_EMAIL=alice@example.com GIT_COMMITTER_NAME=Alice GIT_COMMITTER_EMAIL=alice@example.com
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "A team repository (bare), and Alice's clone"
git init -q --bare -b main "$work/origin.git"
git clone -q "$work/origin.git" "$work/alice" 2>/dev/null
cd "$work/alice"
run mk init                                   # .mk/config.yaml, Kitfile, .gitattributes (track: files go through mk's Git filter)
run mk install                                # hooks and the Git filter for this clone ('mk install --global': for every clone)
run mk remote add origin "$work/store"      # the embedded default: an OCI image layout on a shared disk

say "Alice commits a model and a dataset with plain git"
mkdir -p models data/images
head -c 24000000 /dev/urandom > models/classifier.safetensors          # matches track: *.safetensors (.gitattributes: filter=mk)
for i in $(seq 1 200); do head -c 4096 /dev/urandom > "data/images/img-$i.png"; done
run mk add data/images                                                    # a folder: one pointer for all of it
echo 'print("train")' > train.py
run git add -A
run git commit -q -m "First model and dataset"
run git show --stat --oneline HEAD
run mk status

say "git push: the pre-push hook uploads the data and publishes the commit's ModelKit"
run git push -q origin main
run mk modelkit inspect origin:main

say "Bob clones elsewhere: one command, data included"
cd "$work"
run mk clone "$work/origin.git" bob
cmp alice/models/classifier.safetensors bob/models/classifier.safetensors; echo "bob's model is byte-identical"
diff -r alice/data/images bob/data/images; echo "bob's dataset is byte-identical"

say "Alice retrains: git commit -a records the new model"
cd "$work/alice"
head -c 24000000 /dev/urandom > models/classifier.safetensors
run git commit -q -am "Retrain"                                           # git add through the filter: the model is an ordinary change
run git push -q origin main
run mk diff HEAD~1 HEAD

say "Back in time: mk checkout restores the data of any revision"
run mk checkout HEAD~1 -- models
cmp models/classifier.safetensors "$work/bob/models/classifier.safetensors"; echo "the first model is back"
run mk checkout HEAD

say "Plain git keeps the data right: reset and cherry-pick move the data with the pointers"
run git reset -q --hard HEAD~1                                            # the model is Git's (filter): smudged back
cmp models/classifier.safetensors "$work/bob/models/classifier.safetensors"; echo "reset: the first model is back"
run git reset -q --hard ORIG_HEAD                                         # and forward again
run git switch -q -c more-images
for i in $(seq 201 230); do head -c 4096 /dev/urandom > "data/images/img-$i.png"; done
run mk add data/images                                                    # (a folder-only change: mk add, then commit)
run git commit -q -m "30 more images"
run git switch -q main                                                    # post-checkout: main's 200 images
echo "on main: $(ls data/images | wc -l) images"
run git cherry-pick more-images                                           # no checkout hook runs: reference-transaction does it
echo "after the cherry-pick: $(ls data/images | wc -l) images"
[ "$(ls data/images | wc -l)" = 230 ]
run git reset -q --hard HEAD~1                                            # the discarded images go, they are not recorded again
echo "after the reset: $(ls data/images | wc -l) images"
[ "$(ls data/images | wc -l)" = 200 ]
run mk status
run git commit -q --allow-empty -m "docs"                                 # the next commit records nothing stale
[ "$(git diff HEAD~1 HEAD --stat | wc -l)" = 0 ]; echo "the next commit recorded no stale data"

say "Bob pulls Alice's retrain with git; the post-merge hook restores the data"
cd "$work/bob"
run git pull -q
cmp models/classifier.safetensors "$work/alice/models/classifier.safetensors"; echo "bob has the retrained model"

say "Experiments: params, metrics and plots per commit; compare two trainings, promote the better one"
cd "$work/alice"
cat >> .mk/config.yaml <<'YAML'
params: [params.yaml]
metrics: [metrics.json]
plots: [{path: logs/loss.csv, x: step, y: loss, title: Training loss}]
YAML
train() {  # train <lr>: writes params, the loss curve and the metrics a (pretend) training gives
  printf 'train:\n  lr: %s\n  epochs: 20\nmodel:\n  layers: 4\n' "$1" > params.yaml
  mkdir -p logs
  awk -v lr="$1" 'BEGIN { print "step,loss"; for (s = 0; s < 20; s++) printf "%d,%.4f\n", s, 0.15 + 0.85 / (1 + lr * 3 * s) }' > logs/loss.csv
  awk -v lr="$1" 'BEGIN { loss = 0.15 + 0.85 / (1 + lr * 57); printf "{\"loss\": %.4f, \"accuracy\": %.4f}\n", loss, 1 - loss / 1.5 }' > metrics.json
}
train 0.1
run git add -A
run git commit -q -m "Train with lr=0.1"
run git push -q origin main                                               # the ModelKit carries params (model.parameters) and metrics
train 0.5                                                                 # a second training, not committed yet
run mk metrics diff                                                       # HEAD against the work tree: old, new, change, %
run mk params diff
run git commit -q -am "Train with lr=0.5"
run git push -q origin main
run mk exp show -n 2 --sort-by accuracy
run mk plots diff HEAD~1 HEAD -o "$work/plots"                           # one SVG per plot, a line per revision
run mk promote HEAD                                                       # tags its published ModelKit 'champion', notes it in Git
run mk exp show -n 2
run git log -1 --format=%N --notes=mk-promotions HEAD
run mk report --base HEAD~1 -o "$work/report.md"                          # the pull-request report (templates/ci posts it)

say "Done. Everything is in $work (remove it when you are done)"
