package web

// registerControlConsole registers the console pages of frameworks,
// controls and posture.
func (s *Server) registerControlConsole() {
}
