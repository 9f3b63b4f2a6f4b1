package client

// ContainerForHandle is a Container of c without the list request Lookup
// sends, for tests whose fake answers only the call under test.
func ContainerForHandle(c Client, handle string) Container {
	return &container{handle: handle, conn: c.(*client).conn}
}
