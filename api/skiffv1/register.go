package skiffv1

// RegisterPath is where a worker trades the cluster token for node
// credentials (POST, body RegisterRequest, answer RegisterResponse).
const RegisterPath = "/skiff/v1/nodes/register"

// RegisterRequest is the body of POST RegisterPath.
type RegisterRequest struct {
	// Node is the name of the Node the credential may act as; a DNS-1123
	// subdomain.
	Node string `json:"node"`
}

// RegisterResponse carries a worker's credentials: a node token that may
// act only as that node, the cluster CA (PEM) and the API servers' URLs.
type RegisterResponse struct {
	Token   string   `json:"token"`
	CA      string   `json:"ca"`
	Servers []string `json:"servers"`
}
