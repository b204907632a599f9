-- createRun in one statement (RunsService.create): locks the owner's account, checks the
-- queue cap, the idempotency key and the balance, inserts the run with its stages and
-- inputs, and charges its cost. Before, these were six statements of an interactive
-- transaction (BEGIN, lock, count, insert run, insert stages, COMMIT), each a round trip.
--
-- In READ COMMITTED each statement of a volatile function takes a new snapshot, so the count
-- after the lock sees the runs that a concurrent create of the same account committed while
-- this one waited for the lock: the queue cap and the balance stay race-free.
--
-- p_run holds the Run columns the caller decides (names as in the table; "createdAt" is also
-- the time of the charge and of a claim); p_stages the
-- stage kinds in order; p_inputs RunInput rows ("mediaId", "role", "index"). Answers
-- {"run": row} or {"existing": row} (the idempotency key's run), or {"error": "ACCOUNT" |
-- "QUEUE_LIMIT" | "CREDITS", "balance": n}: nothing is written then.
--
-- p_claim (or NULL): the creating process has a free ComfyUI slot and offers to execute the
-- run at once: {"owner", "lease", "attemptId", "capable": ["model/MODE", ...]}. The run is
-- then inserted already claimed (RUNNING, attempt 1, the owner's lease), as the queue's claim
-- would have done, provided the process can execute it and no queued run it could execute
-- instead is waiting (queue order comes first). Otherwise it is inserted QUEUED.
CREATE FUNCTION "atelier_create_run"(p_owner UUID, p_run JSONB, p_stages JSONB, p_inputs JSONB, p_max_queued INTEGER, p_claim JSONB)
RETURNS JSONB
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  v_balance INTEGER;
  v_queued INTEGER;
  v_cost INTEGER := COALESCE((p_run->>'cost')::INTEGER, 0);
  -- The caller's clock, like every other timestamp Atelier writes (leases, queue timeouts).
  v_now TIMESTAMP(3) := COALESCE((p_run->>'createdAt')::TIMESTAMPTZ, now()) AT TIME ZONE 'UTC';
  v_run "Run";
  v_claim BOOLEAN := FALSE;
BEGIN
  SELECT "creditBalance" INTO v_balance FROM "Account" WHERE "id" = p_owner FOR UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('error', 'ACCOUNT');
  END IF;
  IF p_run->>'idempotencyKey' IS NOT NULL THEN
    SELECT * INTO v_run FROM "Run"
      WHERE "ownerId" = p_owner AND "idempotencyKey" = p_run->>'idempotencyKey';
    IF FOUND THEN
      RETURN jsonb_build_object('existing', row_to_json(v_run));
    END IF;
  END IF;
  SELECT count(*) INTO v_queued FROM "Run" WHERE "ownerId" = p_owner AND "status" = 'QUEUED';
  IF v_queued >= p_max_queued THEN
    RETURN jsonb_build_object('error', 'QUEUE_LIMIT');
  END IF;
  IF v_balance IS NOT NULL AND v_balance < v_cost THEN
    RETURN jsonb_build_object('error', 'CREDITS', 'balance', v_balance);
  END IF;
  IF p_claim IS NOT NULL THEN
    v_claim := (p_run->>'modelKey') || '/' || (p_run->>'mode')
        IN (SELECT jsonb_array_elements_text(p_claim->'capable'))
      AND NOT EXISTS (
        SELECT 1 FROM "Run" WHERE "status" = 'QUEUED'
          AND ("modelKey" || '/' || "mode"::text) IN (SELECT jsonb_array_elements_text(p_claim->'capable'))
      );
  END IF;

  INSERT INTO "Run" (
    "id", "ownerId", "mode", "modelKey", "styleKey", "prompt", "negativePrompt", "parameters",
    "adjustments", "seed", "count", "cost", "outputFormat", "outputQuality", "outputBackground",
    "priority", "queueRank", "webhookUrl", "webhookEvents", "webhookSecret", "idempotencyKey",
    "skipStages", "retryOfId", "createdAt", "updatedAt",
    "status", "startedAt", "attempt", "attemptId", "leaseOwner", "leaseExpiresAt"
  )
  SELECT
    gen_random_uuid(), p_owner, r."mode", r."modelKey", r."styleKey", r."prompt",
    r."negativePrompt", r."parameters", COALESCE(r."adjustments", ARRAY[]::TEXT[]), r."seed",
    r."count", v_cost, r."outputFormat", r."outputQuality", r."outputBackground", r."priority",
    v_queued, r."webhookUrl", r."webhookEvents", r."webhookSecret", r."idempotencyKey",
    r."skipStages", r."retryOfId", v_now, v_now,
    CASE WHEN v_claim THEN 'RUNNING' ELSE 'QUEUED' END::"RunStatus",
    CASE WHEN v_claim THEN v_now END,
    CASE WHEN v_claim THEN 1 ELSE 0 END,
    CASE WHEN v_claim THEN (p_claim->>'attemptId')::UUID END,
    CASE WHEN v_claim THEN p_claim->>'owner' END,
    CASE WHEN v_claim THEN (p_claim->>'lease')::TIMESTAMPTZ AT TIME ZONE 'UTC' END
  FROM jsonb_populate_record(NULL::"Run", p_run) AS r
  RETURNING * INTO v_run;

  INSERT INTO "Stage" ("id", "runId", "kind", "position")
  SELECT gen_random_uuid(), v_run."id", (s.kind #>> '{}')::"StageKind", (s.n - 1)::INTEGER
  FROM jsonb_array_elements(p_stages) WITH ORDINALITY AS s(kind, n);

  INSERT INTO "RunInput" ("id", "runId", "mediaId", "role", "index")
  SELECT gen_random_uuid(), v_run."id", i."mediaId", i."role", i."index"
  FROM jsonb_populate_recordset(NULL::"RunInput", p_inputs) AS i;

  IF v_balance IS NOT NULL AND v_cost > 0 THEN
    UPDATE "Account" SET "creditBalance" = "creditBalance" - v_cost, "updatedAt" = v_now
      WHERE "id" = p_owner;
    INSERT INTO "CreditTransaction" ("id", "accountId", "runId", "amount", "reason", "createdAt")
      VALUES (gen_random_uuid(), p_owner, v_run."id", -v_cost, 'RUN', v_now);
  END IF;

  RETURN jsonb_build_object('run', row_to_json(v_run));
END;
$$;
