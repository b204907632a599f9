-- createRun counted the account's QUEUED runs (the queue cap, and the new run's queueRank)
-- on every call: an index-only scan plus a heap fetch per queued run, 0.9 ms of the
-- database's CPU with 2,600 runs waiting and growing with the queue. The count is now kept
-- in Account."queuedRuns": a trigger on Run records each run entering (+1) or leaving (-1)
-- the queue as a row of "AccountQueueDelta", an insert that locks nothing a claim or a
-- cancel could wait for; "atelier_create_run", which holds the account's row lock, adds the
-- committed rows to the column and deletes them. Under READ COMMITTED the delete sees
-- exactly the changes the count would have seen (those committed before its statement), so
-- the cap and queueRank are what they were; a change still uncommitted is folded in by a
-- later create.

-- AlterTable
ALTER TABLE "Account" ADD COLUMN     "queuedRuns" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "AccountQueueDelta" (
    "id" BIGSERIAL NOT NULL,
    "accountId" UUID NOT NULL,
    "delta" INTEGER NOT NULL,

    CONSTRAINT "AccountQueueDelta_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AccountQueueDelta_accountId_idx" ON "AccountQueueDelta"("accountId");

-- +1 for a run entering the queue, -1 for one leaving it (inserted, updated or deleted;
-- a change of owner counts for both accounts).
CREATE FUNCTION "atelier_queue_delta"() RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD."status" = 'QUEUED' THEN
    INSERT INTO "AccountQueueDelta" ("accountId", "delta") VALUES (OLD."ownerId", -1);
  END IF;
  IF TG_OP <> 'DELETE' AND NEW."status" = 'QUEUED' THEN
    INSERT INTO "AccountQueueDelta" ("accountId", "delta") VALUES (NEW."ownerId", 1);
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "Run_queued_insert" AFTER INSERT ON "Run"
  FOR EACH ROW WHEN (NEW."status" = 'QUEUED') EXECUTE FUNCTION "atelier_queue_delta"();
CREATE TRIGGER "Run_queued_update" AFTER UPDATE OF "status", "ownerId" ON "Run"
  FOR EACH ROW WHEN ((OLD."status" = 'QUEUED' OR NEW."status" = 'QUEUED')
    AND (OLD."status" IS DISTINCT FROM NEW."status" OR OLD."ownerId" IS DISTINCT FROM NEW."ownerId"))
  EXECUTE FUNCTION "atelier_queue_delta"();
CREATE TRIGGER "Run_queued_delete" AFTER DELETE ON "Run"
  FOR EACH ROW WHEN (OLD."status" = 'QUEUED') EXECUTE FUNCTION "atelier_queue_delta"();

-- The counts as they are: the migration runs in one transaction, and creating the triggers
-- waits for the statements writing Run that are under way, so no change is missed or counted
-- twice.
UPDATE "Account" AS a SET "queuedRuns" = q.n
  FROM (SELECT "ownerId", count(*)::INTEGER AS n FROM "Run" WHERE "status" = 'QUEUED' GROUP BY "ownerId") AS q
  WHERE q."ownerId" = a."id";

-- As in 20261130233000_create_run_function, with the count read from Account."queuedRuns".
CREATE OR REPLACE FUNCTION "atelier_create_run"(p_owner UUID, p_run JSONB, p_stages JSONB, p_inputs JSONB, p_max_queued INTEGER, p_claim JSONB)
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
  WITH folded AS (
    DELETE FROM "AccountQueueDelta" WHERE "accountId" = p_owner RETURNING "delta"
  )
  UPDATE "Account" SET "queuedRuns" = "queuedRuns" + (SELECT COALESCE(sum("delta"), 0) FROM folded)
    WHERE "id" = p_owner
    RETURNING "queuedRuns" INTO v_queued;
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

-- Adds the pending changes of up to p_limit accounts to their counts and deletes them, so
-- an account that stopped creating runs does not keep its runs' changes for ever (its
-- claims and cancels still write them). An account whose row is locked (a createRun under
-- way, which folds them itself) is skipped. Called now and then by the queue's upkeep;
-- answers how many accounts it folded.
CREATE FUNCTION "atelier_fold_queue_deltas"(p_limit INTEGER)
RETURNS INTEGER
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  v_account UUID;
  v_folded INTEGER := 0;
BEGIN
  FOR v_account IN
    SELECT a."id" FROM "Account" AS a
      WHERE a."id" IN (SELECT DISTINCT "accountId" FROM "AccountQueueDelta" LIMIT p_limit)
      FOR UPDATE SKIP LOCKED
  LOOP
    WITH folded AS (
      DELETE FROM "AccountQueueDelta" WHERE "accountId" = v_account RETURNING "delta"
    )
    UPDATE "Account" SET "queuedRuns" = "queuedRuns" + (SELECT COALESCE(sum("delta"), 0) FROM folded)
      WHERE "id" = v_account;
    v_folded := v_folded + 1;
  END LOOP;
  -- Changes of an account that was deleted (its runs went with it) count for nobody. A
  -- change is visible only once its run's insert committed, and with it the account.
  DELETE FROM "AccountQueueDelta" AS d
    WHERE NOT EXISTS (SELECT 1 FROM "Account" AS a WHERE a."id" = d."accountId");
  RETURN v_folded;
END;
$$;
