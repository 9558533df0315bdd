#!/usr/bin/env bash
# Deploy resizer with nothing but the AWS CLI: docs/infrastructure.md shows this file,
# and tests/pipeline/test_aws_cli_deploy.py runs it against the local emulator, so the
# documented recipe and the template cannot drift apart.
#
#   scripts/aws_cli_deploy.sh ENV [ZIP]      e.g. scripts/aws_cli_deploy.sh dev
#
# ENV names infra/parameters/ENV.json; ZIP defaults to the newest dist/*.zip (`make
# package`). ARTIFACT_BUCKET (required): a versioned bucket in the stack's region that
# you may write to. The bootstrap's artifact bucket only takes objects from the
# pipeline's publishing role, so a deploy by hand uses a bucket of its own. STACK
# (default resizer-ENV), ALARM_EMAIL (required by prod) and REVIEW=1 (stop after
# showing the change set) may be set too.
# Needs: the AWS CLI, jq, sha256sum, credentials and a region (`resizer preflight`
# checks them all).
set -euo pipefail

ENV=${1:?usage: $0 ENV [ZIP]}
ZIP=${2:-$(ls -t dist/*.zip | head -1)}
STACK=${STACK:-resizer-$ENV}
ARTIFACTS=${ARTIFACT_BUCKET:?set ARTIFACT_BUCKET to a versioned bucket you may write to}

# 1. Upload the build under its content-addressed key (76 characters; CodeKey allows
#    80): the key scripts/package.py writes into the build's manifest. The object
#    version is pinned as CodeVersion, so the function deploys exactly these bytes.
KEY="resizer/$(sha256sum "$ZIP" | cut -d' ' -f1).zip"
VERSION=$(aws s3api put-object --bucket "$ARTIFACTS" --key "$KEY" --body "$ZIP" \
  --checksum-algorithm SHA256 --query VersionId --output text)
if [ "$VERSION" = None ] || [ "$VERSION" = null ]; then VERSION=""; fi  # unversioned bucket

# 2. The environment's parameters plus the build's, in the CLI's JSON format.
PARAMS=$(mktemp)
trap 'rm -f "$PARAMS"' EXIT
#    CodeVersion and ALARM_EMAIL are added when set (prod refuses to deploy without them).
jq --arg b "$ARTIFACTS" --arg k "$KEY" --arg v "$VERSION" --arg e "${ALARM_EMAIL:-}" \
  '. + [{"ParameterKey":"CodeBucket","ParameterValue":$b},{"ParameterKey":"CodeKey","ParameterValue":$k}]
     + (if $v == "" then [] else [{"ParameterKey":"CodeVersion","ParameterValue":$v}] end)
     + (if $e == "" then [] else [{"ParameterKey":"AlarmEmail","ParameterValue":$e}] end)' \
  "infra/parameters/$ENV.json" > "$PARAMS"

# 3. A change set: create it, show it, execute it, wait for the stack.
if aws cloudformation describe-stacks --stack-name "$STACK" >/dev/null 2>&1; then
  TYPE=UPDATE
else
  TYPE=CREATE
fi
CHANGE_SET="deploy-$(date +%Y%m%d%H%M%S)"
aws cloudformation create-change-set --stack-name "$STACK" --change-set-name "$CHANGE_SET" \
  --change-set-type "$TYPE" --template-body file://infra/template.yaml \
  --parameters "file://$PARAMS" --capabilities CAPABILITY_IAM >/dev/null
aws cloudformation wait change-set-create-complete --stack-name "$STACK" --change-set-name "$CHANGE_SET"
aws cloudformation describe-change-set --stack-name "$STACK" --change-set-name "$CHANGE_SET" \
  --query "Changes[].ResourceChange.[Action,LogicalResourceId,Replacement]" --output table
if [ "${REVIEW:-0}" = 1 ]; then
  echo "review done: aws cloudformation execute-change-set --stack-name $STACK --change-set-name $CHANGE_SET"
  exit 0
fi
aws cloudformation execute-change-set --stack-name "$STACK" --change-set-name "$CHANGE_SET"
aws cloudformation wait "stack-${TYPE,,}-complete" --stack-name "$STACK"
aws cloudformation describe-stacks --stack-name "$STACK" \
  --query "Stacks[0].Outputs[].[OutputKey,OutputValue]" --output table
