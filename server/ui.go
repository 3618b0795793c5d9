package server

import (
	"net/http"

	"github.com/skiffhq/skiff/ui"
)

// opMembers lists the gossip members this server sees.
const opMembers = "/skiff/v1/operator/members"

// Member is one entry of GET /skiff/v1/operator/members.
type Member struct {
	Name    string `json:"name"`
	Role    string `json:"role"`
	Address string `json:"address"`
	// State is "alive" for every member listed: gossip forgets members it
	// declares dead or that leave.
	State   string `json:"state"`
	Version string `json:"version,omitempty"`
}

// Members is the body of GET /skiff/v1/operator/members.
type Members struct {
	Members []Member `json:"members"`
}

// handleMembers lists the servers and workers gossip sees alive.
func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request) {
	out := Members{Members: []Member{}}
	for _, m := range s.gossip.Members() {
		out.Members = append(out.Members, Member{Name: m.Meta.Name, Role: string(m.Meta.Role), Address: m.Addr, State: "alive", Version: m.Meta.Version})
	}
	writeJSON(w, http.StatusOK, out)
}

// newUI builds the dashboard over backend, this server's own routes: it
// sends each request there with the signed-in user's token, so the
// dashboard can do only what that token may.
func (s *Server) newUI(backend http.Handler) http.Handler {
	return ui.New(ui.Config{
		Backend: backend,
		Authenticate: func(token string) (string, string, bool) {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+token)
			u, ok := s.authn.Authenticate(r)
			if !ok {
				return "", "", false
			}
			return u.Name, string(u.Role), true
		},
		ServerName: s.cfg.Name,
		Log:        s.log,
	})
}
