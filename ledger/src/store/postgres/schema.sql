-- The PostgreSQL store's schema (docs/design.md, "PostgreSQL store"), version 1. Applied once
-- by `PgStore::create` in one transaction, by the role that will own it (the *owner*). Every
-- table is keyed by a log id, so several logs can share one database.
--
-- Append-only in the database: `evl_grant_app(role)` gives an application role SELECT and
-- INSERT, UPDATE of the log's state row (a trigger refuses any decrease), and EXECUTE on
-- `evl_redact` and `evl_prune_tiles`. Those run as the owner (SECURITY DEFINER) and check
-- what they change; repair (`evl_repair*`) is the owner's alone. A direct UPDATE or DELETE of
-- a node, id, tile, checkpoint, anchor or metadata by the application role is refused by the
-- database (SQLSTATE 42501). What the database cannot check is a hash: a role that may append
-- may append junk, and may redact a leaf by appending a record row with it, as the ledger
-- does; it cannot change or delete evidence without leaving rows behind.

-- The functions below capture this search path (`SET search_path FROM CURRENT`): the store's
-- schema, then pg_temp, so no session can shadow a table with a temporary one of the same name.
SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_temp', true);

CREATE TABLE evl_schema (version integer NOT NULL);
INSERT INTO evl_schema VALUES (1);

-- One row per log: what a batch's precondition is checked against, under FOR UPDATE.
CREATE TABLE evl_log (
    log_id      integer PRIMARY KEY,
    tree_size   bigint NOT NULL DEFAULT 0 CHECK (tree_size >= 0),
    last_anchor bigint CHECK (last_anchor >= 0)
);

-- Node content by leaf; content is NULL once redacted (or for a leaf restored without it).
CREATE TABLE evl_node (
    log_id  integer NOT NULL REFERENCES evl_log,
    leaf    bigint NOT NULL CHECK (leaf >= 0),
    content bytea,
    PRIMARY KEY (log_id, leaf)
);

-- The id map: NodeId (32 bytes) to leaf.
CREATE TABLE evl_id (
    log_id  integer NOT NULL REFERENCES evl_log,
    node_id bytea NOT NULL CHECK (length(node_id) = 32),
    leaf    bigint NOT NULL CHECK (leaf >= 0),
    PRIMARY KEY (log_id, node_id)
);

-- Redacted leaf to the leaf of its redaction/v1 record.
CREATE TABLE evl_redaction (
    log_id integer NOT NULL REFERENCES evl_log,
    leaf   bigint NOT NULL,
    record bigint NOT NULL,
    PRIMARY KEY (log_id, leaf)
);

-- Hash tiles (the storage v2 row layout, ledger/src/store/v2/tile.rs), one row per tile and
-- width: a tile that grows is a new row, never an update (the C2SP tlog-tiles partial tile
-- `tile/L/N.p/W` is the row of width W). Readers take the widest row.
CREATE TABLE evl_tile (
    log_id     integer NOT NULL REFERENCES evl_log,
    tile_level smallint NOT NULL CHECK (tile_level >= 0 AND tile_level < 8),
    tile_index bigint NOT NULL CHECK (tile_index >= 0),
    width      smallint NOT NULL CHECK (width >= 1 AND width <= 256),
    data       bytea NOT NULL,
    PRIMARY KEY (log_id, tile_level, tile_index, width)
);

CREATE TABLE evl_checkpoint (
    log_id    integer NOT NULL REFERENCES evl_log,
    tree_size bigint NOT NULL,
    note      text NOT NULL,
    PRIMARY KEY (log_id, tree_size)
);

CREATE TABLE evl_anchor (
    log_id   integer NOT NULL REFERENCES evl_log,
    seq      bigint NOT NULL,
    envelope bytea NOT NULL,
    PRIMARY KEY (log_id, seq)
);

CREATE TABLE evl_meta (
    log_id integer NOT NULL REFERENCES evl_log,
    key    text NOT NULL,
    value  bytea NOT NULL,
    PRIMARY KEY (log_id, key)
);

-- The state row never goes back: a tree that shrank or an anchor sequence that fell would
-- mean a second root for a size already signed.
CREATE FUNCTION evl_log_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.log_id <> OLD.log_id OR NEW.tree_size < OLD.tree_size
       OR (OLD.last_anchor IS NOT NULL
           AND (NEW.last_anchor IS NULL OR NEW.last_anchor < OLD.last_anchor)) THEN
        RAISE EXCEPTION 'evl: the log state only moves forward (tree size % to %)',
            OLD.tree_size, NEW.tree_size USING ERRCODE = 'EV001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER evl_log_forward BEFORE UPDATE ON evl_log
    FOR EACH ROW EXECUTE FUNCTION evl_log_forward();

-- The functions below run as the owner (SECURITY DEFINER) with the search path they were
-- created with (`SET search_path FROM CURRENT`: the store's schema), so an application role
-- cannot redirect them to tables of its own.

-- Redaction (SPEC.md §3.4): deletes the content of committed leaves whose redaction record
-- row names a record leaf appended in the same transaction (at or beyond the committed tree
-- size, its node row present), and nothing else; raises EV002 otherwise. A bulk load (a
-- restore, `p_strict` false) may name records at any leaf and leaves loaded without content;
-- only a member of the owner role may load.
CREATE FUNCTION evl_redact(p_log integer, p_leaves bigint[], p_strict boolean) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    n integer;
    size bigint;
BEGIN
    IF NOT p_strict AND NOT pg_has_role(session_user,
            (SELECT relowner FROM pg_class WHERE oid = 'evl_node'::regclass), 'MEMBER') THEN
        RAISE EXCEPTION 'evl: only the owner loads' USING ERRCODE = '42501';
    END IF;
    SELECT tree_size INTO size FROM evl_log WHERE log_id = p_log FOR UPDATE;
    UPDATE evl_node SET content = NULL
     WHERE log_id = p_log AND leaf = ANY (p_leaves) AND content IS NOT NULL
       AND leaf IN (SELECT r.leaf FROM evl_redaction r
                      JOIN evl_node k ON k.log_id = r.log_id AND k.leaf = r.record
                     WHERE r.log_id = p_log AND k.content IS NOT NULL
                       AND (NOT p_strict OR r.record >= size));
    GET DIAGNOSTICS n = ROW_COUNT;
    IF p_strict AND n <> cardinality(p_leaves) THEN
        RAISE EXCEPTION 'evl: % of % leaves have content and a redaction record appended with them', n,
            cardinality(p_leaves) USING ERRCODE = 'EV002';
    END IF;
END $$;

-- Repair (ledger/src/store/mod.rs, Store::repair): puts back node content and id-map entries
-- below the committed tree size. Raises EV003 for a position at or beyond it.
CREATE FUNCTION evl_repair(p_log integer, p_leaves bigint[], p_contents bytea[],
                           p_ids bytea[], p_id_leaves bigint[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    size bigint;
BEGIN
    SELECT tree_size INTO size FROM evl_log WHERE log_id = p_log FOR UPDATE;
    IF EXISTS (SELECT 1 FROM unnest(p_leaves) l WHERE l >= size OR l < 0)
       OR EXISTS (SELECT 1 FROM unnest(p_id_leaves) l WHERE l >= size OR l < 0) THEN
        RAISE EXCEPTION 'evl: a repair only rewrites entries below tree size %', size
            USING ERRCODE = 'EV003';
    END IF;
    -- Redacted content stays deleted: a repair never puts it back.
    IF EXISTS (SELECT 1 FROM evl_redaction r WHERE r.log_id = p_log AND r.leaf = ANY (p_leaves)) THEN
        RAISE EXCEPTION 'evl: a repair does not put back redacted content' USING ERRCODE = 'EV003';
    END IF;
    INSERT INTO evl_node (log_id, leaf, content)
        SELECT p_log, t.l, t.c FROM unnest(p_leaves, p_contents) AS t(l, c)
    ON CONFLICT (log_id, leaf) DO UPDATE SET content = EXCLUDED.content;
    INSERT INTO evl_id (log_id, node_id, leaf)
        SELECT p_log, t.i, t.l FROM unnest(p_ids, p_id_leaves) AS t(i, l)
    ON CONFLICT (log_id, node_id) DO UPDATE SET leaf = EXCLUDED.leaf;
END $$;

-- Repair of a tile: replaces every row of a tile that lies below the tree size by the one
-- given (the caller recomputed it: ledger/src/store/v2/tile.rs, `repaired`).
CREATE FUNCTION evl_repair_tile(p_log integer, p_level smallint, p_index bigint,
                                p_width smallint, p_data bytea) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    size bigint;
BEGIN
    SELECT tree_size INTO size FROM evl_log WHERE log_id = p_log FOR UPDATE;
    IF p_index * 256 + p_width > (size >> (8 * p_level)) THEN
        RAISE EXCEPTION 'evl: tile %/% of width % is beyond tree size %', p_level, p_index,
            p_width, size USING ERRCODE = 'EV003';
    END IF;
    DELETE FROM evl_tile WHERE log_id = p_log AND tile_level = p_level AND tile_index = p_index;
    INSERT INTO evl_tile (log_id, tile_level, tile_index, width, data)
        VALUES (p_log, p_level, p_index, p_width, p_data);
END $$;

-- Drops the rows of a tile narrower than a row of it that exists (a partial tile superseded
-- by a wider one holds nothing the wider row does not).
CREATE FUNCTION evl_prune_tiles(p_log integer, p_levels smallint[], p_indexes bigint[],
                                p_widths smallint[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    DELETE FROM evl_tile t USING unnest(p_levels, p_indexes, p_widths) AS w(l, i, wd)
     WHERE t.log_id = p_log AND t.tile_level = w.l AND t.tile_index = w.i AND t.width < w.wd
       AND EXISTS (SELECT 1 FROM evl_tile k WHERE k.log_id = p_log AND k.tile_level = w.l
                   AND k.tile_index = w.i AND k.width = w.wd
                   -- only a row the wider one extends: the same base hashes (after the
                   -- version byte and the width, 32 bytes each)
                   AND substring(k.data FROM 4 FOR 32 * t.width)
                       = substring(t.data FROM 4 FOR 32 * t.width));
$$;

-- Grants an application role what the ledger needs, and no UPDATE or DELETE of evidence.
CREATE FUNCTION evl_grant_app(p_role name) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    s text := current_schema();
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', s, p_role);
    EXECUTE format('GRANT SELECT ON evl_schema TO %I', p_role);
    EXECUTE format('GRANT SELECT, INSERT ON evl_node, evl_id, evl_redaction, evl_tile,
                    evl_checkpoint, evl_anchor TO %I', p_role);
    EXECUTE format('GRANT SELECT ON evl_meta TO %I', p_role);
    EXECUTE format('GRANT SELECT, UPDATE (tree_size, last_anchor) ON evl_log TO %I', p_role);
    -- Not the repair functions: `evl recover` connects as the owner.
    EXECUTE format('GRANT EXECUTE ON FUNCTION evl_redact(integer, bigint[], boolean),
                    evl_prune_tiles(integer, smallint[], bigint[], smallint[]) TO %I', p_role);
END $$;

-- Nobody but the owner may call the maintenance functions until granted.
REVOKE EXECUTE ON FUNCTION evl_redact(integer, bigint[], boolean),
    evl_repair(integer, bigint[], bytea[], bytea[], bigint[]),
    evl_repair_tile(integer, smallint, bigint, smallint, bytea),
    evl_prune_tiles(integer, smallint[], bigint[], smallint[]),
    evl_grant_app(name) FROM PUBLIC;
