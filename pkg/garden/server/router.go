package server

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// route is one of the API's 28 routes.
type route struct {
	name    string // the reference's route name, for logs and metrics
	method  string
	pattern []string // path segments; ":x" captures one segment
	handler func(w http.ResponseWriter, r *http.Request, p params)
}

// params are a matched route's path parameters.
type params map[string]string

// router matches paths the way the reference's router does: a parameter is
// one path segment, decoded with query unescaping (so "+" is a space); a
// path no route has is 404 "404 page not found", a path some route has
// with another method is 405 with Allow.
type router struct{ routes []route }

func (rt *router) match(path string) (found []route, ps []params) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, r := range rt.routes {
		if len(r.pattern) != len(segs) {
			continue
		}
		p := params{}
		ok := true
		for i, s := range r.pattern {
			if name, isParam := strings.CutPrefix(s, ":"); isParam {
				v, err := url.QueryUnescape(segs[i])
				if err != nil || segs[i] == "" {
					ok = false
					break
				}
				p[name] = v
			} else if s != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			found = append(found, r)
			ps = append(ps, p)
		}
	}
	return found, ps
}

// lookup returns the route for r, or writes the router's 404 or 405.
func (rt *router) lookup(w http.ResponseWriter, r *http.Request) (route, params, bool) {
	found, ps := rt.match(r.URL.EscapedPath())
	var allow []string
	for i, f := range found {
		if f.method == r.Method {
			return f, ps[i], true
		}
		allow = append(allow, f.method)
	}
	if len(found) == 0 {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return route{}, nil, false
	}
	sort.Strings(allow)
	w.Header().Set("Allow", strings.Join(allow, ", "))
	http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
	return route{}, nil, false
}

func split(pattern string) []string { return strings.Split(strings.TrimPrefix(pattern, "/"), "/") }
