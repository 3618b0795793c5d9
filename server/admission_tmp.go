package server

import "github.com/skiffhq/skiff/apiserver"

func admission() apiserver.Admission { return apiserver.Admission{} }
