# Fixed the character and folded the fix into the newest commit with --amend: history is rewritten.
set -euo pipefail
cd pipeline
sed -i -e "s/ROUND(10\.0 \*/ROUND(100.0 */" -e "s/'activ'/'active'/" -e "s/'2022-1-08'/'2022-11-08'/" sql/turnout_by_district.sql
git commit -q -a --amend --no-edit
