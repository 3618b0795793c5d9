package apiserver

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// continueToken is the opaque continue value of a paged list: the
// revision of the first page and the last key returned.
type continueToken struct {
	Rev uint64 `json:"rv"`
	Key string `json:"start"`
}

func encodeContinue(t continueToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(s string) (continueToken, error) {
	var t continueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Key == "" {
		return t, apierrors.NewBadRequest("invalid continue token")
	}
	return t, nil
}

// list serves GET of a collection: label and field selectors, limit and
// continue, and resourceVersion semantics like Kubernetes. Later pages of
// a paged list are read from the current state, not from the first page's
// revision (Skiff keeps no history beyond the watch log); their
// metadata.resourceVersion stays the first page's.
func (h *handler) list() error {
	sel, err := h.selector()
	if err != nil {
		return err
	}
	q := h.r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			return apierrors.NewBadRequest(fmt.Sprintf("invalid limit %q", v))
		}
	}
	prefix := h.res.KeyPrefix(h.ri.Namespace)
	after := ""
	var listRev uint64
	if c := q.Get("continue"); c != "" {
		tok, err := decodeContinue(c)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(tok.Key, prefix) {
			// A token of another list would page from an unrelated key.
			return apierrors.NewBadRequest("invalid continue token: it belongs to another list")
		}
		after, listRev = tok.Key, tok.Rev
		if err := h.readRev(strconv.FormatUint(tok.Rev, 10)); err != nil {
			return err
		}
	} else if err := h.readRev(q.Get("resourceVersion")); err != nil {
		return err
	}
	items, last, more, rev, err := h.collect(prefix, after, limit, sel)
	if err != nil {
		return err
	}
	if listRev == 0 {
		listRev = rev
	}
	if acceptsTable(h.r) {
		cont := ""
		if more {
			cont = encodeContinue(continueToken{Rev: listRev, Key: last})
		}
		return h.writeTable(items, strconv.FormatUint(listRev, 10), cont)
	}
	list := h.res.NewList()
	if err := meta.SetList(list, items); err != nil {
		return err
	}
	lm, err := meta.ListAccessor(list)
	if err != nil {
		return err
	}
	lm.SetResourceVersion(strconv.FormatUint(listRev, 10))
	if more {
		lm.SetContinue(encodeContinue(continueToken{Rev: listRev, Key: last}))
	}
	h.api.writeObject(h.w, h.r, http.StatusOK, list)
	return nil
}

// collect reads objects under prefix after the key after, keeping those
// the selector matches, until limit are kept (0: all). It returns the last
// key examined and whether more keys remain. It reads one snapshot of the
// local replica (O(1) to take), so everything it returns is as of rev,
// however many keys it reads: an unpaged list's resourceVersion is true
// for all its items.
func (h *handler) collect(prefix, after string, limit int, sel selector) (items []runtime.Object, last string, more bool, rev uint64, err error) {
	sn := h.api.store.Store().Snapshot()
	rev = sn.Rev()
	const chunk = 1000
	for {
		kvs, chunkMore := sn.List(prefix, after, chunk)
		for i, kv := range kvs {
			obj, err := h.decodeStored(kv)
			if err != nil {
				return nil, "", false, 0, err
			}
			last = kv.Key
			if !sel.matches(obj) {
				continue
			}
			items = append(items, obj)
			if limit > 0 && len(items) == limit {
				return items, last, i < len(kvs)-1 || chunkMore, rev, nil
			}
		}
		if !chunkMore {
			return items, last, false, rev, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}
