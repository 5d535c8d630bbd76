#!/bin/sh
# Registers n8n's LiteLLM virtual key (alias n8n) with the master key; idempotent. The keys are
# read from files and sent in a header file and a request body, never printed.
set -eu
umask 077
base="$LITELLM_URL"

printf 'Authorization: Bearer %s\nContent-Type: application/json\n' "$(cat /secrets/master/master-key)" > /tmp/headers

tries=0
until curl -fsS -o /dev/null --max-time 5 "$base/health/readiness"; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "LiteLLM at $base is not ready after 10 minutes"
    exit 1
  fi
  echo "waiting for LiteLLM at $base"
  sleep 10
done

key="$(cat /secrets/n8n/api-key)"
case "$key" in
  sk-?????????????*) ;;
  *) echo "n8n: the key in n8n-litellm-key must start with sk- and be at least 16 characters"; exit 1 ;;
esac
printf '{"key":"%s","key_alias":"n8n","models":["qwen2.5-0.5b-instruct","coder-chat","qwen2.5-coder-14b-instruct-awq","claude-sonnet-4-5","text-embedding"],"metadata":{"managed-by":"n8n"}}' \
  "$key" > /tmp/body
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -H @/tmp/headers \
  -X POST --data-binary @/tmp/body "$base/key/update")
if [ "$code" != 200 ]; then
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -H @/tmp/headers \
    -X POST --data-binary @/tmp/body "$base/key/generate")
  if [ "$code" != 200 ]; then
    echo "n8n: LiteLLM answered HTTP $code to /key/generate"
    exit 1
  fi
  echo "n8n: key registered"
else
  echo "n8n: key already registered, settings updated"
fi
rm -f /tmp/body /tmp/headers
