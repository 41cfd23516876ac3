# `perfex devices` lists every device clinfo knows (the reference, when
# installed) and marks the PoCL CPU device as the default on a machine whose
# only fp64 device it is; --verbose shows the platforms/ entries that apply.
set -e
unset PERFEX_DEVICE
"$PERFEX" devices > "$TMP/out"
cat "$TMP/out"
if ! grep -q "Portable Computing Language" "$TMP/out"; then
    echo "SKIP: no PoCL platform here"; exit 77
fi
if command -v clinfo > /dev/null; then
    clinfo -l | sed -n 's/^ *[`|]-- Device #[0-9]*: //p' | while read -r name; do
        grep -qF "$name" "$TMP/out" || { echo "FAIL: clinfo's device '$name' missing"; exit 1; }
    done
fi
# Exactly one mark; on PoCL when no other device has fp64 (no GPU here).
test "$(grep -c '^\*' "$TMP/out")" -eq 1 || { echo "FAIL: not exactly one '*'"; exit 1; }
if ! grep -E '^ ' "$TMP/out" | grep -v '^  IDX' | grep -E ' GPU .* yes ' > /dev/null; then
    grep -E '^\* .*Portable Computing Language.* CPU .* yes ' "$TMP/out" > /dev/null ||
        { echo "FAIL: the PoCL CPU is not marked"; exit 1; }
fi
"$PERFEX" devices --verbose > "$TMP/v"
cat "$TMP/v"
grep -q "platforms entries: default, cpu, pocl-cpu" "$TMP/v" ||
    { echo "FAIL: --verbose does not show the pocl-cpu entry"; exit 1; }
grep -Eq "^ +SPOT_WG=[0-9]+" "$TMP/v" || { echo "FAIL: --verbose shows no values"; exit 1; }
echo "ok"
