package clusterdns

import (
	"context"
	"net"

	"github.com/miekg/dns"
)

// ServeDNS answers one request. It accepts only standard queries with
// one question; anything else gets FORMERR or NOTIMP.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := s.reply(w.RemoteAddr(), req)
	if resp == nil {
		return
	}
	_ = w.WriteMsg(resp)
}

// reply builds the response to req, or nil when there is none to send.
func (s *Server) reply(from net.Addr, req *dns.Msg) *dns.Msg {
	if req.Response {
		return nil
	}
	resp := new(dns.Msg)
	switch {
	case req.Opcode != dns.OpcodeQuery:
		return resp.SetRcode(req, dns.RcodeNotImplemented)
	case len(req.Question) != 1:
		return resp.SetRcodeFormatError(req)
	}
	udp := false
	if from != nil {
		_, udp = from.(*net.UDPAddr)
	}
	res := s.res.answer(req.Question[0])
	if res.forward {
		return s.forward(req, udp)
	}
	resp.SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = true
	resp.Rcode = res.rcode
	resp.Answer, resp.Extra = res.answer, res.extra
	if len(res.answer) == 0 {
		resp.Ns = []dns.RR{s.res.soa()}
	}
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = max(int(opt.UDPSize()), dns.MinMsgSize)
		resp.SetEdns0(uint16(min(size, dns.DefaultMsgSize)), false)
	}
	if udp {
		resp.Truncate(size)
	}
	return resp
}

// forward asks the upstreams in order and relays the first answer;
// SERVFAIL when none answers.
func (s *Server) forward(req *dns.Msg, udp bool) *dns.Msg {
	network := "tcp"
	if udp {
		network = "udp"
	}
	c := &dns.Client{Net: network, Timeout: s.cfg.ForwardTimeout}
	for _, up := range s.upstreams {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ForwardTimeout)
		in, _, err := c.ExchangeContext(ctx, req, up)
		cancel()
		if err == nil && in != nil {
			in.Id = req.Id
			return in
		}
		s.log.Debug("upstream failed", "upstream", up, "err", err)
	}
	resp := new(dns.Msg)
	resp.SetRcode(req, dns.RcodeServerFailure)
	resp.RecursionAvailable = true
	return resp
}
