#!/usr/bin/env bash
# Deploy resizer with nothing but the AWS CLI: docs/infrastructure.md shows this file,
# and `make rehearse` runs it (the full run) against the local emulator, so the
# documented recipe and the template cannot drift apart.
#
#   scripts/aws_cli_deploy.sh [--region REGION] ENV [ZIP] [Key=Value ...]
#   e.g. scripts/aws_cli_deploy.sh dev
#        scripts/aws_cli_deploy.sh --region eu-west-1 prod Cdn=true 'Renditions=w480=480x'
#
# ENV names infra/parameters/ENV.json; ZIP defaults to the newest dist/*.zip (`make
# package`). Key=Value overrides a parameter of the file, as `aws cloudformation deploy
# --parameter-overrides` does (ExistingSourceBucket=..., Cdn=true, Renditions=...; quote
# a value holding shell characters). ARTIFACT_BUCKET (required): a versioned bucket in
# the stack's region that you may write to; the build and the template go there (the
# template is sent by URL: CloudFormation takes 1 MB from S3, 51,200 bytes as a body).
# The bootstrap's artifact bucket only takes objects from the pipeline's publishing
# role, so a deploy by hand uses a bucket of its own. STACK (default resizer-ENV), ALARM_EMAIL (required by prod), REVIEW=1 (stop
# after showing the change set) and EXECUTE=<change set> (execute that reviewed change
# set instead of creating one) may be set too. A stack left REVIEW_IN_PROGRESS by a
# REVIEW=1 run on a new stack is created by the next run (or by EXECUTE=...).
# Needs: the AWS CLI, jq, sha256sum, credentials and a region (`resizer preflight`
# checks them all).
set -euo pipefail

REGION=()
if [ "${1:-}" = --region ]; then
  REGION=(--region "${2:?--region needs a value}")
  shift 2
fi
ENV=${1:?usage: $0 [--region REGION] ENV [ZIP] [Key=Value ...]}
shift
ZIP=""
if [ $# -gt 0 ] && [[ $1 != *=* ]]; then ZIP=$1; shift; fi
ZIP=${ZIP:-$(ls -t dist/*.zip | head -1)}
STACK=${STACK:-resizer-$ENV}
ARTIFACTS=${ARTIFACT_BUCKET:?set ARTIFACT_BUCKET to a versioned bucket you may write to}
aws() { command aws "${REGION[@]}" "$@"; }
# The region the CLI uses (--region, AWS_REGION, AWS_DEFAULT_REGION, then the profile's):
# the stack's, and the artifact bucket's (the template's URL names it).
STACK_REGION=${REGION[1]:-${AWS_REGION:-${AWS_DEFAULT_REGION:-$(command aws configure get region || true)}}}
STACK_REGION=${STACK_REGION:?set a region: --region, AWS_REGION or aws configure}

wait_for_stack() {  # $1: create or update; prints the outputs
  aws cloudformation wait "stack-$1-complete" --stack-name "$STACK"
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[].[OutputKey,OutputValue]" --output table
}

if [ -n "${EXECUTE:-}" ]; then  # a change set shown by an earlier REVIEW=1 run
  TYPE=$(aws cloudformation describe-change-set --stack-name "$STACK" \
    --change-set-name "$EXECUTE" --query ChangeSetType --output text)
  aws cloudformation execute-change-set --stack-name "$STACK" --change-set-name "$EXECUTE"
  wait_for_stack "${TYPE,,}"
  exit 0
fi

# 1. Upload the build under its content-addressed key (76 characters; CodeKey allows
#    80): the key scripts/package.py writes into the build's manifest
#    (scripts/artifact_keys.py). The object
#    version is pinned as CodeVersion, so the function deploys exactly these bytes.
KEY="resizer/$(sha256sum "$ZIP" | cut -d' ' -f1).zip"
VERSION=$(aws s3api put-object --bucket "$ARTIFACTS" --key "$KEY" --body "$ZIP" \
  --checksum-algorithm SHA256 --query VersionId --output text)
if [ "$VERSION" = None ] || [ "$VERSION" = null ]; then VERSION=""; fi  # unversioned bucket
#    The template beside it, under its own SHA-256 (scripts/artifact_keys.py): sent by
#    URL, as a body it would exceed CloudFormation's 51,200 bytes (from S3: 1 MB). The
#    URL is the object's virtual-hosted one; CloudFormation reads it with your credentials.
TEMPLATE_KEY="templates/$(sha256sum infra/template.yaml | cut -d' ' -f1).yaml"
aws s3api put-object --bucket "$ARTIFACTS" --key "$TEMPLATE_KEY" --body infra/template.yaml \
  --checksum-algorithm SHA256 >/dev/null
TEMPLATE_URL="https://$ARTIFACTS.s3.$STACK_REGION.amazonaws.com/$TEMPLATE_KEY"

# 2. The environment's parameters plus the build's and the overrides, in the CLI's
#    JSON format. CodeVersion and ALARM_EMAIL are added when set (prod refuses to
#    deploy without them).
PARAMS=$(mktemp)
trap 'rm -f "$PARAMS"' EXIT
OVERRIDES=$(printf '%s\n' "$@" | jq -R 'select(length > 0) | capture("^(?<k>[^=]+)=(?<v>.*)$")
  // error("not Key=Value: \(.)") | {ParameterKey: .k, ParameterValue: .v}' | jq -s .)
jq --arg b "$ARTIFACTS" --arg k "$KEY" --arg v "$VERSION" --arg e "${ALARM_EMAIL:-}" \
  --argjson o "$OVERRIDES" \
  '. + [{"ParameterKey":"CodeBucket","ParameterValue":$b},{"ParameterKey":"CodeKey","ParameterValue":$k}]
     + (if $v == "" then [] else [{"ParameterKey":"CodeVersion","ParameterValue":$v}] end)
     + (if $e == "" then [] else [{"ParameterKey":"AlarmEmail","ParameterValue":$e}] end)
     + $o | reverse | unique_by(.ParameterKey)' \
  "infra/parameters/$ENV.json" > "$PARAMS"

# 3. A change set: create it, show it, execute it, wait for the stack. A stack that
#    does not exist, or exists only as REVIEW_IN_PROGRESS (a reviewed change set was
#    never executed), is created.
STATUS=$(aws cloudformation describe-stacks --stack-name "$STACK" \
  --query "Stacks[0].StackStatus" --output text 2>/dev/null || echo NONE)
if [ "$STATUS" = NONE ] || [ "$STATUS" = REVIEW_IN_PROGRESS ]; then
  TYPE=CREATE
else
  TYPE=UPDATE
fi
CHANGE_SET="deploy-$(date +%Y%m%d%H%M%S)"
aws cloudformation create-change-set --stack-name "$STACK" --change-set-name "$CHANGE_SET" \
  --change-set-type "$TYPE" --template-url "$TEMPLATE_URL" \
  --parameters "file://$PARAMS" --capabilities CAPABILITY_IAM >/dev/null
if ! aws cloudformation wait change-set-create-complete --stack-name "$STACK" \
  --change-set-name "$CHANGE_SET" 2>/dev/null; then
  REASON=$(aws cloudformation describe-change-set --stack-name "$STACK" \
    --change-set-name "$CHANGE_SET" --query StatusReason --output text)
  if [[ $REASON == *"didn't contain changes"* ]]; then
    echo "nothing to change: $STACK already runs this build with these parameters"
    aws cloudformation delete-change-set --stack-name "$STACK" --change-set-name "$CHANGE_SET"
    exit 0
  fi
  echo "change set $CHANGE_SET failed: $REASON" >&2
  exit 1
fi
aws cloudformation describe-change-set --stack-name "$STACK" --change-set-name "$CHANGE_SET" \
  --query "Changes[].ResourceChange.[Action,LogicalResourceId,Replacement]" --output table
if [ "${REVIEW:-0}" = 1 ]; then
  echo "review done: EXECUTE=$CHANGE_SET $0 $ENV executes it; a run without EXECUTE makes a new one"
  exit 0
fi
aws cloudformation execute-change-set --stack-name "$STACK" --change-set-name "$CHANGE_SET"
wait_for_stack "${TYPE,,}"
