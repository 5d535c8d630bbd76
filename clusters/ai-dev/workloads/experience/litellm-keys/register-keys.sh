#!/bin/sh
# Registers each virtual key in LiteLLM with its alias and allowed models; idempotent.
# Secrets are read from files, sent in request bodies and headers read from files, and never
# printed: curl gets no key on its command line and its responses go to /dev/null.
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

# register ALIAS KEY_FILE MODELS_JSON
register() {
  alias="$1"
  key="$(cat "$2")"
  models="$3"
  case "$key" in
    sk-?????????????*) ;;
    *) echo "$alias: the key in $2 must start with sk- and be at least 16 characters"; exit 1 ;;
  esac
  printf '{"key":"%s","key_alias":"%s","models":%s,"metadata":{"managed-by":"litellm-keys"}}' \
    "$key" "$alias" "$models" > /tmp/body
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -H @/tmp/headers \
    -X POST --data-binary @/tmp/body "$base/key/update")
  if [ "$code" = 200 ]; then
    echo "$alias: key already registered, settings updated"
    return
  fi
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -H @/tmp/headers \
    -X POST --data-binary @/tmp/body "$base/key/generate")
  if [ "$code" = 200 ]; then
    echo "$alias: key registered"
    return
  fi
  echo "$alias: LiteLLM answered HTTP $code to /key/generate"
  exit 1
}

register open-webui /secrets/keys/open-webui '["qwen2.5-0.5b-instruct","coder-chat","qwen2.5-coder-14b-instruct-awq","claude-sonnet-4-5"]'
register tabby /secrets/keys/tabby '["coder-fim","coder-chat","text-embedding"]'
rm -f /tmp/body /tmp/headers
